# shellcheck shell=bash
# Source me (scripts/test.sh does): remote signing checks that need system tools.
#
#   . scripts/signing-check.sh
#   signing_softhsm_start   # installs nothing; a SoftHSM2 token in a temporary directory;
#                           # exports SOFTHSM2_CONF, EID_PKCS11_MODULE, EID_PKCS11_TOKEN_LABEL,
#                           # EID_PKCS11_PIN and EID_PKCS11_TEST=1 (the PKCS#11 test then must run)
#   signing_openssl_check   # `eid serve` + a wallet + `eid wallet sign`, then
#                           # `openssl cms -verify` must accept the signature and refuse it once
#                           # one byte of the file changes; with the software and PKCS#11 signers
#   signing_softhsm_stop
#
# Needs softhsm2 and openssl (Debian packages; scripts/test.sh installs them) and a built `eid`
# (EID_BIN, default target/debug/eid).

SIGNING_STATE_DIR="${SIGNING_STATE_DIR:-${TMPDIR:-/tmp}/eid-signing}"

_signing_log() { printf 'signing-check: %s\n' "$*" >&2; }

_signing_module() {
  local m
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
    [ -f "$m" ] && { printf '%s' "$m"; return 0; }
  done
  return 1
}

signing_softhsm_start() {
  local module
  module="$(_signing_module)" || {
    _signing_log "SoftHSM2 is not installed (apt-get install softhsm2)"
    return 1
  }
  rm -rf "$SIGNING_STATE_DIR"
  mkdir -p "$SIGNING_STATE_DIR/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$SIGNING_STATE_DIR/tokens" >"$SIGNING_STATE_DIR/softhsm2.conf"
  export SOFTHSM2_CONF="$SIGNING_STATE_DIR/softhsm2.conf"
  export EID_PKCS11_MODULE="$module"
  export EID_PKCS11_TOKEN_LABEL="eid-signing-test"
  # A throwaway token: its PINs protect nothing outside this directory.
  export EID_PKCS11_PIN="123456"
  softhsm2-util --init-token --free --label "$EID_PKCS11_TOKEN_LABEL" \
    --so-pin 12345678 --pin "$EID_PKCS11_PIN" >/dev/null || {
    _signing_log "softhsm2-util could not initialise a token"
    return 1
  }
  export EID_PKCS11_TEST=1
  _signing_log "SoftHSM2 token '$EID_PKCS11_TOKEN_LABEL' in $SIGNING_STATE_DIR/tokens"
}

signing_softhsm_stop() {
  [ -n "${SIGNING_SERVE_PID:-}" ] && kill "$SIGNING_SERVE_PID" 2>/dev/null
  SIGNING_SERVE_PID=""
  rm -rf "$SIGNING_STATE_DIR"
  unset SOFTHSM2_CONF EID_PKCS11_MODULE EID_PKCS11_TOKEN_LABEL EID_PKCS11_PIN EID_PKCS11_TEST
  return 0
}

# One round: serve with signer $1, activate the first synthetic citizen, enrol, sign, verify.
_signing_round() {
  local signer="$1" dir="$SIGNING_STATE_DIR/round-${1%%:*}" eid="${EID_BIN:-target/debug/eid}"
  local url id phone i
  mkdir -p "$dir"
  "$eid" serve --dev --addr 127.0.0.1:0 --db "sqlite://$dir/backend.db" --signer "$signer" \
    >"$dir/serve.out" 2>"$dir/serve.log" &
  SIGNING_SERVE_PID=$!
  for i in $(seq 1 100); do
    url="$(sed -n 's/^listening on //p' "$dir/serve.out")"
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { _signing_log "eid serve did not start:"; cat "$dir/serve.log" >&2; return 1; }
  id="$("$eid" fixtures citizens --json | sed -n 's/.*"id": "\([0-9]*\)".*/\1/p' | head -n 1)"
  phone="$("$eid" fixtures citizens --json | sed -n 's/.*"phone": "\([0-9]*\)".*/\1/p' | head -n 1)"
  export EID_PASSCODE=246810
  local w=("$eid" wallet --data-dir "$dir/wallet" --backend "$url")
  "${w[@]}" activate --id "$id" --phone "$phone" --sim >/dev/null
  "${w[@]}" signing enrol >/dev/null
  printf 'To khai TEST %s\n' "$signer" >"$dir/form.txt"
  "${w[@]}" sign --file "$dir/form.txt" --out "$dir/form.p7s" >/dev/null
  unset EID_PASSCODE
  curl -fsS "$url/v1/signing/ca.pem" >"$dir/ca.pem"
  kill "$SIGNING_SERVE_PID" 2>/dev/null
  wait "$SIGNING_SERVE_PID" 2>/dev/null
  SIGNING_SERVE_PID=""
  openssl cms -verify -binary -inform DER -in "$dir/form.p7s" -content "$dir/form.txt" \
    -CAfile "$dir/ca.pem" -purpose any -out /dev/null 2>"$dir/verify.log" || {
    _signing_log "openssl refused our signature ($signer):"
    cat "$dir/verify.log" >&2
    return 1
  }
  # One byte changed: the same check must fail.
  cp "$dir/form.txt" "$dir/changed.txt"
  printf 'X' | dd of="$dir/changed.txt" bs=1 seek=0 conv=notrunc status=none
  if openssl cms -verify -binary -inform DER -in "$dir/form.p7s" -content "$dir/changed.txt" \
    -CAfile "$dir/ca.pem" -purpose any -out /dev/null 2>/dev/null; then
    _signing_log "openssl accepted the signature over a changed file ($signer)"
    return 1
  fi
  _signing_log "openssl cms -verify: signature accepted, changed file refused ($signer)"
}

signing_openssl_check() {
  _signing_round software || return 1
  if [ -n "${EID_PKCS11_MODULE:-}" ]; then
    _signing_round "pkcs11:$EID_PKCS11_MODULE" || return 1
  fi
}
