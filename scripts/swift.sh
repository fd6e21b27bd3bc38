#!/usr/bin/env bash
# The Swift package (ios/) compiled and its XCTests run on Linux (docs/adr/0068).
#
# Debian bookworm has no Swift and swift.org is out of reach; Debian trixie packages swiftlang
# (6.0.3, with Foundation, FoundationNetworking and XCTest) but it needs trixie's glibc. So this
# script makes a minimal trixie root under target/ with debootstrap (once; reused), and in it
# runs `swift build` and `swift test` in ios/ over the Rust libraries the host built
# (target/debug/libeid_ffi.so, libeid_testing.so) and the `eid` binary for the journeys.
#
#   scripts/swift.sh            swift build + swift test (makes or updates the root first)
#   scripts/swift.sh root       only make or update the root
#   scripts/swift.sh shell      a shell in the root, the repository mounted (for debugging)
#
# Needs what `scripts/bindings.sh generate` leaves (scripts/bindings.sh swift does both): the
# libraries, target/debug/eid and the test-only bindings under target/bindings-testing/swift.
# Root (or sudo): debootstrap, chroot and mount. EID_SWIFT_ROOT: another folder for the root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
SYSROOT="${EID_SWIFT_ROOT:-$ROOT/target/swift-trixie}"
MIRROR="${EID_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie
# swiftlang: the toolchain (swiftc, swift-build/test, Foundation, FoundationNetworking, XCTest).
# libc6-dev, libstdc++-14-dev: the C and C++ headers and link files swiftc and clang use (only
# recommended by the toolchain's gcc). libssl-dev: OpenSSL's libcrypto for ios/Linux/TestCrypto,
# the tests' stand-in for CryptoKit. libpcsclite1: `eid` (built with the pcsc feature) links it.
PACKAGES=(swiftlang libc6-dev libstdc++-14-dev libssl-dev libpcsclite1 ca-certificates)
# Where the repository appears inside the root: at its own path, so that the paths the package
# and the tests use (target/debug/..., EID_CLI) are the same inside and out. Read-only: swift's
# build folder lives in the root (/build), nothing in the root can write to the repository, and
# should a killed run leave the mount behind, an `rm -rf target` cannot delete the work tree
# through it (the next run unmounts what is left). The host's /dev is not mounted: debootstrap
# made the device nodes the root needs.
INNER="$SYSROOT$ROOT"

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

step() {
  if [ -n "${EID_TEST_T0:-}" ]; then
    printf '\n==> [%ss] swift: %s\n' "$(($(date +%s) - EID_TEST_T0))" "$*"
  else
    printf '\n==> swift: %s\n' "$*"
  fi
}
TIMES=()
timed() { # timed LABEL CMD...: runs CMD, records how long it took
  local label="$1" t0; shift
  t0=$(date +%s)
  "$@"
  TIMES+=("$label $(($(date +%s) - t0)) s")
  echo "    ($label: $(($(date +%s) - t0)) s)"
}

# Every mount under the root, deepest first.
mounts_under() {
  findmnt -rn -o TARGET | awk -v r="$1" 'index($0, r "/") == 1 || $0 == r' | sort -r
}
unmount_all() {
  local m
  for m in $(mounts_under "$SYSROOT"); do
    $SUDO umount "$m" 2>/dev/null || $SUDO umount -l "$m" || true
  done
}

make_root() {
  if [ -f "$SYSROOT/.eid-root-complete" ]; then
    return
  fi
  if ! command -v debootstrap >/dev/null; then
    step "installing debootstrap"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  # A root that never completed is made again, but only when nothing is mounted in it.
  if [ -e "$SYSROOT" ]; then
    unmount_all
    if [ -n "$(mounts_under "$SYSROOT")" ]; then
      echo "$SYSROOT still has mounts: $(mounts_under "$SYSROOT" | tr '\n' ' ')" >&2
      exit 1
    fi
    $SUDO rm -rf "$SYSROOT"
  fi
  step "making a minimal Debian $SUITE root in ${SYSROOT#"$ROOT"/} (debootstrap)"
  mkdir -p "$(dirname "$SYSROOT")"
  timed "debootstrap" debootstrap_quiet
  $SUDO touch "$SYSROOT/.eid-root-complete"
}

debootstrap_quiet() {
  local log; log="$(dirname "$SYSROOT")/debootstrap.log"
  $SUDO debootstrap --variant=minbase "$SUITE" "$SYSROOT" "$MIRROR" >"$log" 2>&1 ||
    { tail -20 "$log" >&2; return 1; }
}

# shellcheck disable=SC2317  # called through timed
in_root() { # in_root CMD...: CMD in the root, a clean environment
  $SUDO chroot "$SYSROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TMPDIR=/tmp \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin DEBIAN_FRONTEND=noninteractive "$@"
}

mount_root() {
  unmount_all
  trap unmount_all EXIT
  trap 'exit 130' INT TERM
  $SUDO mount -t proc proc "$SYSROOT/proc"
  # apt's downloads (the first time) need the host's resolver.
  $SUDO cp /etc/resolv.conf "$SYSROOT/etc/resolv.conf"
}

mount_repo() {
  $SUDO mkdir -p "$INNER"
  $SUDO mount --bind "$ROOT" "$INNER"
  $SUDO mount -o remount,bind,ro "$INNER"
}

install_packages() {
  # (Re)installed when the list changed since the last install.
  if [ "$(cat "$SYSROOT/.eid-packages" 2>/dev/null)" = "${PACKAGES[*]}" ]; then
    return
  fi
  step "installing ${PACKAGES[*]} in the root (apt, $SUITE)"
  timed "apt-get install swiftlang" in_root bash -c \
    "apt-get update -qq && apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends ${PACKAGES[*]} >/dev/null && apt-get clean"
  echo "${PACKAGES[*]}" | $SUDO tee "$SYSROOT/.eid-packages" >/dev/null
}

# The test-only library's bindings in ios/build/ (ignored by git), where Package.swift's Linux
# branch looks for them: the Swift file, and a module map over the generated header that links
# libeid_testing.so (the generated EidWalletTestingFFI.modulemap is Apple's: no link line).
stage_test_support() {
  local gen="$ROOT/target/bindings-testing/swift"
  rm -rf ios/build/EidWalletTesting ios/build/EidWalletTestingFFI
  mkdir -p ios/build/EidWalletTesting ios/build/EidWalletTestingFFI
  cp "$gen/EidWalletTesting.swift" ios/build/EidWalletTesting/
  cp "$gen/EidWalletTestingFFI.h" ios/build/EidWalletTestingFFI/
  cat > ios/build/EidWalletTestingFFI/module.modulemap <<'EOF'
// Written by scripts/swift.sh (Linux): the test-only library's C module.
module EidWalletTestingFFI {
    header "EidWalletTestingFFI.h"
    link "eid_testing"
    export *
}
EOF
}

need_inputs() {
  local f missing=()
  for f in target/debug/libeid_ffi.so target/debug/libeid_testing.so target/debug/eid \
    target/bindings-testing/swift/EidWalletTesting.swift; do
    [ -e "$f" ] || missing+=("$f")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing ${missing[*]}: run scripts/bindings.sh generate first (or scripts/bindings.sh swift)" >&2
    exit 1
  fi
}

swift_in_root() {
  # --scratch-path: the build folder stays in the root (kept for the next run), not in ios/.
  # --disable-swift-testing: the tests are XCTests; swift-testing's own runner would only add a
  # "0 tests" line.
  local swift_env=(EID_CLI="$ROOT/target/debug/eid" EID_LIB_DIR="$ROOT/target/debug")
  step "swift build (ios/, $(in_root swift --version 2>/dev/null | head -1))"
  timed "swift build" in_root "${swift_env[@]}" bash -c \
    "cd '$ROOT/ios' && swift build --scratch-path /build/ios"
  step "swift test (XCTests; the journeys against eid serve started by the tests)"
  timed "swift test" in_root "${swift_env[@]}" bash -c \
    "cd '$ROOT/ios' && swift test --scratch-path /build/ios --disable-swift-testing"
}

case "${1:-test}" in
  root)
    make_root; mount_root; install_packages ;;
  shell)
    make_root; mount_root; install_packages; mount_repo
    in_root EID_CLI="$ROOT/target/debug/eid" bash -c "cd '$ROOT/ios' && exec bash -i" ;;
  test)
    need_inputs
    stage_test_support
    make_root; mount_root; install_packages; mount_repo
    swift_in_root
    echo
    echo "swift: ${TIMES[*]/%/;}" | sed 's/;$//' ;;
  *) echo "usage: $0 [test|root|shell]" >&2; exit 2 ;;
esac
