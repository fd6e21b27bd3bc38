#!/usr/bin/env bash
# Our ISO/IEC 18013-5 DeviceResponses checked by an implementation we did not write: Auth0's
# @auth0/mdl Verifier (docs/adr/0064). interop/mdoc/auth0-verifier.test.js starts `eid serve
# --dev`, activates a wallet, has `eid wallet mdoc present --tcp` answer `eid mdoc read
# --save-response`, and gives the saved response, SessionTranscriptBytes and reader key to the
# verifier with the IACA of the backend's trust list: a signed and a MACed response pass every
# check; another session's transcript and a changed byte fail.
#
#   scripts/interop-mdoc.sh     builds `eid` if needed, installs the npm packages of
#                               package-lock.json when missing, runs the test
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export EID_BIN="${EID_BIN:-$ROOT/target/debug/eid}"

[ -x "$EID_BIN" ] || cargo build -q --workspace --all-features

node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
  { echo "mdoc interop: needs Node.js 20 or later with npm (found $(node --version 2>/dev/null || echo none))" >&2; exit 1; }

cd interop/mdoc
# The lock file's versions, only when not there yet. `npm install`, not `npm ci`: cbor-x's
# optional native helper (@cbor-extract/*) is not served by every registry mirror, so the lock
# cannot list its platform packages and `npm ci` would refuse the lock; cbor-x runs without it.
npm ls --depth=0 >/dev/null 2>&1 || npm install --no-audit --no-fund --loglevel=error
timeout 120 node --test-reporter=spec auth0-verifier.test.js
