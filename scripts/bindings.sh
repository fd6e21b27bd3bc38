#!/usr/bin/env bash
# The mobile bindings: builds libeid_ffi (and the test-only libeid_testing), generates the
# Kotlin (android/), Swift (ios/) and Python (python/) bindings with the in-repo uniffi-bindgen,
# and runs the Kotlin (Maven, host JVM) and Python (pytest) tests against the fresh library.
#
#   scripts/bindings.sh generate   regenerate the checked-in bindings
#   scripts/bindings.sh check      regenerate and fail if they differ from what is committed
#   scripts/bindings.sh kotlin     Kotlin tests (Maven; installs maven with apt if missing)
#   scripts/bindings.sh android    the Android glue (androidMain) compiled against the Android 14
#                                  framework classes, and its Robolectric tests (Maven)
#   scripts/bindings.sh python     pytest (in a venv under target/)
#   scripts/bindings.sh swift      the Swift package compiled and its XCTests run on Linux, in a
#                                  Debian trixie root (scripts/swift.sh; scripts/test.sh runs it
#                                  after `all`)
#   scripts/bindings.sh all        check + kotlin + android + python (what scripts/test.sh runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
# shellcheck source=scripts/jvm-common.sh
. scripts/jvm-common.sh
LIB="$ROOT/target/debug/libeid_ffi.so"
TESTLIB="$ROOT/target/debug/libeid_testing.so"
GEN_TESTING="$ROOT/target/bindings-testing"
step() {
  if [ -n "${EID_TEST_T0:-}" ]; then
    printf '\n==> [%ss] %s\n' "$(($(date +%s) - EID_TEST_T0))" "$*"
  else
    printf '\n==> %s\n' "$*"
  fi
}

build() {
  step "cargo build the workspace with all features: eid-ffi (with the bindgen), eid-ffi-testing, eid (for eid serve)"
  # --workspace --all-features: the feature set scripts/test.sh already built, so nothing of
  # the core is rebuilt (the uniffi bindgen is eid-ffi's `bindgen` feature).
  cargo build -q --workspace --all-features
}

bindgen() { "$ROOT/target/debug/uniffi-bindgen" generate --no-format "$@"; }

generate() {
  step "generating Kotlin, Swift and Python bindings"
  local tmp; tmp="$(mktemp -d)"
  bindgen --library "$LIB" --language kotlin --out-dir "$tmp/kotlin" >/dev/null
  bindgen --library "$LIB" --language swift --out-dir "$tmp/swift" >/dev/null
  bindgen --library "$LIB" --language python --out-dir "$tmp/python" >/dev/null
  rm -rf android/src/main/kotlin/vn/eid/wallet/generated ios/Sources/EidWallet/EidWallet.swift
  mkdir -p android/src/main/kotlin ios/Sources/EidWallet ios/Headers python/eid_wallet
  cp -r "$tmp/kotlin/." android/src/main/kotlin/
  cp "$tmp/swift/EidWallet.swift" ios/Sources/EidWallet/
  cp "$tmp/swift/EidWalletFFI.h" "$tmp/swift/EidWalletFFI.modulemap" ios/Headers/
  cp "$tmp/python/eid_ffi.py" python/eid_wallet/
  rm -rf "$tmp"
  # Test-only bindings: generated for the tests, never committed.
  rm -rf "$GEN_TESTING"
  bindgen --library "$TESTLIB" --language kotlin --out-dir "$GEN_TESTING/kotlin" >/dev/null
  bindgen --library "$TESTLIB" --language python --out-dir "$GEN_TESTING/python" >/dev/null
  bindgen --library "$TESTLIB" --language swift --out-dir "$GEN_TESTING/swift" >/dev/null
}

GENERATED=(android/src/main/kotlin ios/Sources/EidWallet ios/Headers python/eid_wallet/eid_ffi.py)

check() {
  generate
  step "generated bindings equal the committed ones"
  git add -N "${GENERATED[@]}" 2>/dev/null || true
  if ! git diff --exit-code --stat -- "${GENERATED[@]}"; then
    echo "the bindings are out of date: run scripts/bindings.sh generate and commit" >&2
    exit 1
  fi
}

need_maven() {
  if ! command -v mvn >/dev/null; then
    step "installing maven"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends maven >/dev/null
  fi
}

kotlin() {
  need_maven
  step "Kotlin tests on the host JVM (Maven)"
  (cd android/jvm-test && mvn -B -q \
    -Dmaven.repo.local="${EID_MAVEN_REPO:-$HOME/.m2/repository}" \
    -Deid.lib.dir="$ROOT/target/debug" -Deid.cli="$ROOT/target/debug/eid" \
    -Deid.generated.testing="$GEN_TESTING/kotlin" \
    test)
  surefire_summary Kotlin android/jvm-test/target/surefire-reports
}

# The Android glue (IsoDepTransport, AndroidKeyStore, HttpUrlConnectionTransport) with the
# generated bindings, compiled against org.robolectric:android-all (Android 14, no SDK needed),
# and the Robolectric tests of the NFC transport, one of them a whole read through the native
# library and the simulated card (test-only bindings).
# A JDK 21 or newer for the Robolectric run (Android 16 needs it): $EID_ROBOLECTRIC_JAVA, else
# one under /usr/lib/jvm (the machine's Temurin JDK beside OpenJDK 17).
robolectric_java() {
  jdk_java 21 "${EID_ROBOLECTRIC_JAVA:-}" ||
    { echo "no JDK 21+ found for the Robolectric tests (Android 16): set EID_ROBOLECTRIC_JAVA" >&2; return 1; }
}

android_glue() {
  need_maven
  local java; java="$(robolectric_java)"
  step "Android glue: compile against the Android 14 framework, Robolectric tests (Maven, $java)"
  rm -rf android/robolectric-test/target/surefire-reports
  (cd android/robolectric-test && mvn -B -q \
    -Dmaven.repo.local="${EID_MAVEN_REPO:-$HOME/.m2/repository}" \
    -Drobolectric.jvm="$java" \
    -Drobolectric.argLine="--add-opens=java.base/jdk.internal.access=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED --enable-native-access=ALL-UNNAMED" \
    -Deid.lib.dir="$ROOT/target/debug" -Deid.generated.testing="$GEN_TESTING/kotlin" \
    test)
  surefire_summary "Android glue" android/robolectric-test/target/surefire-reports
}

python_tests() {
  local venv="$ROOT/target/py-venv"
  # (Re)installed when the requirements changed since the venv was made.
  if [ ! -x "$venv/bin/pytest" ] || ! cmp -s python/requirements-test.txt "$venv/requirements-test.txt"; then
    step "creating the pytest venv (target/py-venv)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r python/requirements-test.txt
    cp python/requirements-test.txt "$venv/requirements-test.txt"
  fi
  cp "$LIB" python/eid_wallet/
  cp "$TESTLIB" "$GEN_TESTING/python/"
  step "Python tests (pytest)"
  EID_TESTING_DIR="$GEN_TESTING/python" EID_TESTING_LIB="$TESTLIB" EID_CLI="$ROOT/target/debug/eid" \
    "$venv/bin/pytest" -q python/tests
}

case "${1:-all}" in
  generate) build; generate ;;
  check) build; check ;;
  kotlin) build; generate; kotlin ;;
  android) build; generate; android_glue ;;
  python) build; generate; python_tests ;;
  swift) build; generate; scripts/swift.sh ;;
  all) build; check; kotlin; android_glue; python_tests ;;
  *) echo "usage: $0 [generate|check|kotlin|android|python|swift|all]" >&2; exit 2 ;;
esac
