#!/usr/bin/env bash
# Fuzzes the parsers of eid-core and eid-icao (the chip reader) with libFuzzer (cargo-fuzz), on stable Rust.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh tlv 300         # one target, 5 minutes
#   scripts/fuzz.sh all 30          # every target, 30 s each
#
# Targets are the [[bin]]s of core/fuzz/Cargo.toml (`cargo fuzz list`); add one there and in
# core/fuzz/fuzz_targets/ and this script runs it too. Runs with `--sanitizer none`: the address
# sanitizer needs nightly, and safe Rust needs it little; panics, overflow checks and debug
# assertions are what find bugs here. A crash leaves its input in core/fuzz/artifacts/TARGET/;
# replay it with `cargo fuzz run -s none TARGET core/fuzz/artifacts/TARGET/crash-...` from core/.
# Corpora grow in core/fuzz/corpus/TARGET/ (not committed) and are reused by the next run.
# core/fuzz/dicts/TARGET.dict, if present, is the target's libFuzzer dictionary.
set -euo pipefail
cd "$(dirname "$0")/../core"

target="${1:-all}"
seconds="${2:-60}"
case "$seconds" in
  '' | *[!0-9]*)
    echo "usage: $0 [TARGET|all] [SECONDS]" >&2
    exit 2
    ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked --version '^0.13' --quiet
fi

mapfile -t all_targets < <(cargo fuzz list)
if [ "$target" = all ]; then
  targets=("${all_targets[@]}")
else
  if ! printf '%s\n' "${all_targets[@]}" | grep -qx -- "$target"; then
    echo "unknown target '$target'; targets: ${all_targets[*]}" >&2
    exit 2
  fi
  targets=("$target")
fi

logdir="$(mktemp -d "${TMPDIR:-/tmp}/eid-fuzz.XXXXXX")"
failed=()
for t in "${targets[@]}"; do
  echo "==> fuzzing $t for ${seconds}s"
  log="$logdir/$t.log"
  mkdir -p "fuzz/corpus/$t"
  # -jobs/-workers stay at 1: the machine is shared. libFuzzer's chatter goes to the log.
  # A target's dictionary (tokens of its format), when it has one.
  dict=()
  if [ -f "fuzz/dicts/$t.dict" ]; then
    dict=("-dict=fuzz/dicts/$t.dict")
  fi
  if cargo fuzz run --sanitizer none "$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
    runs="$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -n 1 || true)"
    echo "    ok: ${runs:-finished} (log: $log)"
  else
    failed+=("$t")
    echo "    FAILED, last lines of $log:"
    grep -E 'panicked|SUMMARY|Test unit written|ERROR|error' "$log" | tail -n 10 | sed 's/^/    /' || true
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "crashes or build failures in: ${failed[*]}"
  exit 1
fi
echo "no crash in: ${targets[*]}"
