#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs what it needs first.
# Used by .ci/run (CI=true, no standard input). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Each step says when it began (seconds since the script started; the CI log has no times).
export EID_TEST_T0="${EID_TEST_T0:-$(date +%s)}"
step() { printf '\n==> [%ss] %s\n' "$(($(date +%s) - EID_TEST_T0))" "$*"; }

# --- System packages (Debian) ---------------------------------------------------------------
# libpcsclite-dev: the `pcsc` feature links libpcsclite; pcscd + vsmartcard-vpcd: a virtual PC/SC
# reader that the simulated card plugs into, so the PC/SC path is tested for real.
# postgresql: the backend's test suite also runs against a throwaway PostgreSQL cluster.
APT_PACKAGES=(pkg-config libpcsclite-dev pcscd vsmartcard-vpcd postgresql)
# softhsm2, openssl, curl: remote signing through PKCS#11 and the `openssl cms -verify` check.
APT_PACKAGES+=(softhsm2 openssl curl)
# A JDK and maven: the Kotlin tests, the Android glue and the independent JMRTD reader.
APT_PACKAGES+=(openjdk-17-jdk-headless maven)
# chromium: the reference relying party's page in a real browser (scripts/browser-test.sh).
APT_PACKAGES+=(chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Rust -----------------------------------------------------------------------------------
# CI builds from a clean clone, where incremental compilation only adds work: a clean test build
# measured 619 s and 5.2 GB of target/ without it, 667 s and 8.1 GB with (docs/adr/0001).
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path interop/isomdl/Cargo.toml -- --check

step "cargo clippy (all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

# --- Tests, with a real pcscd ---------------------------------------------------------------
# A private pcscd with the vpcd virtual reader runs during the tests: the PC/SC tests plug the
# simulated card into it over TCP and read it through libpcsclite, as from a desk reader.
# EID_PCSC_TEST=1: a missing virtual reader fails those tests instead of skipping them.
# shellcheck source=scripts/pcsc-env.sh
. scripts/pcsc-env.sh
# A throwaway PostgreSQL on loopback: with EID_TEST_POSTGRES_URL set, the backend tests run
# against it as well as SQLite (and fail, not skip, if it does not answer).
# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
# shellcheck source=scripts/signing-check.sh
. scripts/signing-check.sh
trap 'pcsc_stop; pg_stop; signing_softhsm_stop' EXIT
step "pcsc-env: pcscd started again while a vpcd port is taken (scripts/pcsc-env-check.sh)"
scripts/pcsc-env-check.sh
step "starting pcscd with the vpcd virtual reader"
pcsc_start
step "starting PostgreSQL on loopback, and a streaming replica of it (backend/tests/replica.rs)"
pg_start
pg_start_replica

step "initialising a SoftHSM2 token (remote signing through PKCS#11)"
signing_softhsm_start

step "cargo test (all features, PC/SC included)"
EID_PCSC_TEST=1 cargo test --workspace --all-features --no-fail-fast

pcsc_stop
pg_stop

# The isomdl interop is a Cargo workspace of its own (interop/isomdl, ADR 0071): its first build
# (about 80 s) runs in the background, on one core, while the next steps mostly wait on
# PostgreSQL, openssl, Chromium and the JVM; its step below then only runs the tests.
isomdl_build_log="$(mktemp)"
scripts/interop-isomdl.sh --build-only >"$isomdl_build_log" 2>&1 &
isomdl_build=$!
trap 'pkill -P "$isomdl_build" 2>/dev/null || true; pcsc_stop; pg_stop; signing_softhsm_stop' EXIT

# Faults (backend/tests/faults.rs, docs/adr/0034): PostgreSQL stopped and started under load,
# an instance killed with SIGKILL. A cluster of their own (they stop it), one test at a time.
step "faults: PostgreSQL restarted under load, an instance killed (backend/tests/faults.rs)"
(
  PG_STATE_DIR="${TMPDIR:-/tmp}/eid-postgres-faults"
  trap pg_stop EXIT
  pg_start
  EID_TEST_FAULT_POSTGRES_URL="$EID_TEST_POSTGRES_URL" EID_TEST_FAULT_PG_STATE="$PG_STATE_DIR" \
    timeout 600 cargo test --workspace --all-features --test faults -- --test-threads=1
)

step "remote signing: openssl cms -verify on signatures made by \`eid wallet sign\`"
# The workspace with all features, as the tests built it: `-p eid-cli` alone would unify other
# features and rebuild the core under them (minutes in CI).
cargo build -q --workspace --all-features
signing_openssl_check
signing_softhsm_stop

# --- A relying party in a real browser ------------------------------------------------------
# Headless Debian Chromium, driven by playwright-core from npm (no browser download; ADR 0041),
# opens `eid rp serve`'s page; the QR read off its screenshot goes to `eid wallet authorize`;
# the page must show the verified claims, or the refusal (interop/browser, README).
step "browser: the reference relying party's page in headless Chromium"
scripts/browser-test.sh

# --- Independent mdoc verifier --------------------------------------------------------------
# Auth0's @auth0/mdl (npm, pinned in interop/mdoc/package-lock.json) checks the DeviceResponses
# `eid wallet mdoc present` gives `eid mdoc read`: issuer chain to the backend's IACA, digests,
# device signature and MAC (interop/mdoc, docs/adr/0064).
step "independent mdoc verifier: @auth0/mdl checks our DeviceResponses"
scripts/interop-mdoc.sh

# Multipaz (Maven Central org.multipaz:multipaz-jvm, Google's 18013-5 implementation; a JDK 21+)
# is the reader against `eid wallet mdoc present` (engagement, session encryption, reader
# authentication, DeviceResponse checks to the IACA) and the holder against `eid mdoc read`,
# over the TCP stand-in for BLE and over NFC through pcscd + vpcd (the script starts them), and
# checks our MSO status references and status list tokens (interop/multipaz, docs/adr/0065).
step "independent mdoc implementation: Multipaz reads our holder and answers our reader"
scripts/interop-multipaz.sh

# SpruceID's isomdl (crates.io, its own Cargo workspace under interop/isomdl) reads our
# licence as an mdoc reader and checks our IACA, document signer and reader certificates
# against Annex B (docs/adr/0071).
step "independent mdoc implementation: SpruceID's isomdl reads our holder"
wait "$isomdl_build" || { cat "$isomdl_build_log"; exit 1; }
scripts/interop-isomdl.sh

# --- Independent reader ---------------------------------------------------------------------
# JMRTD (Maven Central) reads the simulated CCCD through javax.smartcardio + pcscd + vpcd: the
# simulator behaves like a chip to a reader we did not write (interop/jmrtd, README).
step "independent reader: JMRTD reads the simulated card over PC/SC"
scripts/interop-jmrtd.sh

# --- Mobile bindings ------------------------------------------------------------------------
# The committed Kotlin/Swift/Python bindings must equal freshly generated ones; then the Kotlin
# tests (Maven on the host JVM; apt installs maven if missing) and pytest (venv under target/).
step "bindings: regenerate + diff, Kotlin and Python tests"
scripts/bindings.sh all

# The Swift package (ios/) compiled by a real Swift compiler and its XCTests run, journeys
# included: Debian trixie's swiftlang in a trixie root under target/ (debootstrap; bookworm has
# no Swift), over the libraries the step above built (scripts/swift.sh, docs/adr/0068).
step "Swift: swift build + XCTests of ios/ (Debian trixie swiftlang in a chroot)"
scripts/swift.sh

echo
echo "all tests passed in $(($(date +%s) - EID_TEST_T0)) s"
