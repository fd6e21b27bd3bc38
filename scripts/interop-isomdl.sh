#!/usr/bin/env bash
# Independent evidence: SpruceID's isomdl (crates.io, pinned in interop/isomdl/Cargo.lock) is
# the ISO/IEC 18013-5 reader against our holder `eid wallet mdoc present --tcp`: its session
# establishment and encryption, its Annex B checks of our IACA, document signer and reader
# certificates, the issuer signature and the device signature (interop/isomdl, docs/adr/0071).
#
#   scripts/interop-isomdl.sh                builds `eid` if needed, runs the tests
#   scripts/interop-isomdl.sh --build-only   only builds the tests, on one core (scripts/test.sh
#                                            runs this in the background beside other steps)
#
# A Cargo workspace of its own (isomdl is on the older RustCrypto generation); its build goes to
# target/interop-isomdl, about 80 s the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export EID_BIN="${EID_BIN:-$ROOT/target/debug/eid}"

interop() {
  CARGO_TARGET_DIR="$ROOT/target/interop-isomdl" \
    cargo test --locked --manifest-path interop/isomdl/Cargo.toml --tests "$@"
}
if [ "${1:-}" = "--build-only" ]; then
  interop --no-run -j1
  exit
fi

[ -x "$EID_BIN" ] || cargo build -q --workspace --all-features
interop -- --test-threads=2
