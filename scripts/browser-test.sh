#!/usr/bin/env bash
# The reference relying party's page (`eid rp serve`) in a real browser: headless Debian Chromium
# driven by playwright-core (docs/adr/0041). interop/browser/rp-page.test.js starts `eid serve
# --dev` and `eid rp serve` on free loopback ports, registers the bank, activates a wallet, then:
# the QR decoded from a screenshot equals the page's request URI, `eid wallet authorize` answers
# it and the page shows the verified claims; a decline shows the refusal; an impostor page and a
# tampered QR are refused by the wallet and the pages keep waiting.
#
#   scripts/browser-test.sh     builds `eid` if needed, installs chromium (apt) and the npm
#                               packages of package-lock.json when missing, runs the test
#
# No browser download: playwright-core drives /usr/bin/chromium (CHROMIUM to change).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export EID_BIN="${EID_BIN:-$ROOT/target/debug/eid}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

[ -x "$EID_BIN" ] || cargo build -q -p eid-cli

if [ ! -x "$CHROMIUM" ]; then
  echo "installing chromium"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# Node.js 20 or later (playwright-core's minimum) comes with the machine, not from apt: Debian
# 12's nodejs is 18.
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
  { echo "browser test: needs Node.js 20 or later with npm (found $(node --version 2>/dev/null || echo none))" >&2; exit 1; }

cd interop/browser
# Exactly the lock file's versions (the pinned ones of package.json): only when not there yet.
npm ls --depth=0 >/dev/null 2>&1 || npm ci --no-audit --no-fund --loglevel=error
# The file itself, not under `node --test`'s runner: timeout's SIGTERM reaches the process that
# started the servers, which stops them.
timeout 120 node --test-reporter=spec rp-page.test.js
