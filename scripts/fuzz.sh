#!/usr/bin/env bash
# Fuzzes the parsers of eid-core and eid-icao (the chip reader) with libFuzzer (cargo-fuzz), on stable Rust.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh tlv 300         # one target, 5 minutes
#   scripts/fuzz.sh all 30          # every target, 30 s each
#   scripts/fuzz.sh save sd_jwt     # keep what the corpus covers as regression inputs (or: save all)
#
# Targets are the [[bin]]s of core/fuzz/Cargo.toml (`cargo fuzz list`); their bodies live in
# core/fuzz-harness. Runs with `--sanitizer none`: the address sanitizer needs nightly, and safe
# Rust needs it little; panics, overflow checks and debug assertions are what find bugs here. A
# crash leaves its input in core/fuzz/artifacts/TARGET/; replay it with
# `cargo fuzz run -s none TARGET core/fuzz/artifacts/TARGET/crash-...` from core/.
# Corpora grow in core/fuzz/corpus/TARGET/ (not committed) and are reused by the next run; an
# empty one starts from the target's regression inputs.
# core/fuzz/dicts/TARGET.dict, if present, is the target's libFuzzer dictionary.
#
# Regression inputs: core/fuzz/regressions/TARGET.hex, one input per line in hex, committed, and
# replayed by `cargo test` (core/fuzz-harness/tests/regressions.rs) on every CI run. `save`
# reduces the corpus plus the saved inputs to the fewest inputs that cover every edge they cover
# together (libFuzzer's merge without hit counts), so what is saved never loses coverage. Save
# after a fuzzing run that found new paths, and after fixing a crash (put the crash input in the
# corpus first: its edges are new, so it is kept).
set -euo pipefail
cd "$(dirname "$0")/../core"

mode=fuzz
if [ "${1:-}" = save ]; then
  mode=save
  shift
fi
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

# Writes the inputs of regressions/TARGET.hex as files in DIR, named as libFuzzer names them.
unpack_regressions() {
  local t="$1" dir="$2" line name
  [ -f "fuzz/regressions/$t.hex" ] || return 0
  mkdir -p "$dir"
  while IFS= read -r line || [ -n "$line" ]; do
    name="$dir/$(printf '%s' "$line" | sha1sum | cut -c1-40)"
    # shellcheck disable=SC2059 # the format is \xNN escapes made from hex digits only
    printf "$(printf '%s' "$line" | sed 's/../\\x&/g')" >"$name"
  done <"fuzz/regressions/$t.hex"
}

if [ "$mode" = save ]; then
  host="$(rustc -vV | sed -n 's/^host: //p')"
  for t in "${targets[@]}"; do
    echo "==> saving the regression inputs of $t"
    cargo fuzz build --sanitizer none "$t" >"$logdir/$t.build.log" 2>&1
    saved="$logdir/$t.saved"
    kept="$logdir/$t.kept"
    mkdir -p "$kept" "fuzz/corpus/$t" fuzz/regressions
    unpack_regressions "$t" "$saved"
    mkdir -p "$saved"
    # Edges only (-use_counters=0): hit-count buckets would keep several times as many inputs.
    "fuzz/target/$host/release/$t" -merge=1 -use_counters=0 "$kept" "fuzz/corpus/$t" "$saved" \
      >"$logdir/$t.merge.log" 2>&1
    for f in "$kept"/*; do
      od -An -v -tx1 "$f" | tr -d ' \n'
      echo
    done | LC_ALL=C sort -u >"fuzz/regressions/$t.hex"
    echo "    $(wc -l <"fuzz/regressions/$t.hex") inputs, $(cat "$kept"/* | wc -c) bytes: fuzz/regressions/$t.hex"
  done
  exit 0
fi

failed=()
for t in "${targets[@]}"; do
  echo "==> fuzzing $t for ${seconds}s"
  log="$logdir/$t.log"
  if [ -z "$(ls -A "fuzz/corpus/$t" 2>/dev/null)" ]; then
    unpack_regressions "$t" "fuzz/corpus/$t"
  fi
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
