#!/usr/bin/env bash
# Builds ios/build/EidWalletFFI.xcframework from libeid_ffi.a for iOS devices, the simulators
# (arm64 + x86_64) and macOS (so `swift test` runs the XCTests on a Mac).
# Needs macOS with Xcode and: rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin
# Then: cd ios && swift test   (or add the package to an Xcode project).
#
#   scripts/build-xcframework.sh [--with-test-support]
#
# --with-test-support also builds the test-only library (crate eid-ffi-testing: the simulated
# CCCD chip, synthetic citizens, the dev SMS outbox) for the XCTest journeys, macOS only:
#   ios/build/EidWalletTestingFFI.xcframework   libeid_testing as a *dynamic* framework
#                                               (arm64 + x86_64; needs rustup target add x86_64-apple-darwin)
#   ios/build/EidWalletTesting/EidWalletTesting.swift   its generated Swift bindings
# A dylib, not a staticlib: two Rust staticlibs in one test binary clash on the Rust std
# symbols, whereas a Rust cdylib exports only its crate-prefixed UniFFI symbols.
# ios/Package.swift adds both (and makes the test target depend on them) when they exist.
# Never shipped: an app integrator runs the script without the option.
set -euo pipefail
cd "$(dirname "$0")/.."

TEST_SUPPORT=0
for arg in "$@"; do
  case "$arg" in
    --with-test-support) TEST_SUPPORT=1 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--with-test-support]" >&2; exit 2 ;;
  esac
done

OUT=ios/build
rm -rf "$OUT" && mkdir -p "$OUT/headers"
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin; do
  cargo build -p eid-ffi --release --target "$t"
done
# The header and module map generated with the Swift bindings (scripts/bindings.sh generate).
cp ios/Headers/EidWalletFFI.h "$OUT/headers/"
cp ios/Headers/EidWalletFFI.modulemap "$OUT/headers/module.modulemap"
mkdir -p "$OUT/sim"
lipo -create target/aarch64-apple-ios-sim/release/libeid_ffi.a target/x86_64-apple-ios/release/libeid_ffi.a \
  -output "$OUT/sim/libeid_ffi.a"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libeid_ffi.a -headers "$OUT/headers" \
  -library "$OUT/sim/libeid_ffi.a" -headers "$OUT/headers" \
  -library target/aarch64-apple-darwin/release/libeid_ffi.a -headers "$OUT/headers" \
  -output "$OUT/EidWalletFFI.xcframework"
echo "built $OUT/EidWalletFFI.xcframework"

[ "$TEST_SUPPORT" = 1 ] || exit 0

# ---- test support (macOS only) ----
# Names from bindings/testing/uniffi.toml: Swift module EidWalletTesting over the C module
# EidWalletTestingFFI (EidWalletTestingFFI.h + EidWalletTestingFFI.modulemap).
NAME=EidWalletTestingFFI
for t in aarch64-apple-darwin x86_64-apple-darwin; do
  cargo build -p eid-ffi-testing --release --target "$t"
done
# The in-repo generator (same UniFFI version as the libraries), as scripts/bindings.sh builds it.
cargo build -q -p eid-ffi --features bindgen --bin uniffi-bindgen
GEN="$OUT/gen-testing"
rm -rf "$GEN" && mkdir -p "$GEN"
target/debug/uniffi-bindgen generate --no-format \
  --library target/aarch64-apple-darwin/release/libeid_testing.dylib --language swift --out-dir "$GEN" >/dev/null
for f in EidWalletTesting.swift "$NAME.h" "$NAME.modulemap"; do
  [ -f "$GEN/$f" ] || { echo "uniffi-bindgen did not write $GEN/$f" >&2; exit 1; }
done
mkdir -p "$OUT/EidWalletTesting"
cp "$GEN/EidWalletTesting.swift" "$OUT/EidWalletTesting/"

# A versioned macOS framework around the universal dylib, so that SwiftPM copies it next to
# the test bundle (binary targets' frameworks are staged in the build directory).
FW="$OUT/fw/$NAME.framework"
mkdir -p "$FW/Versions/A/Headers" "$FW/Versions/A/Modules" "$FW/Versions/A/Resources"
lipo -create target/aarch64-apple-darwin/release/libeid_testing.dylib \
  target/x86_64-apple-darwin/release/libeid_testing.dylib -output "$FW/Versions/A/$NAME"
install_name_tool -id "@rpath/$NAME.framework/Versions/A/$NAME" "$FW/Versions/A/$NAME"
cp "$GEN/$NAME.h" "$FW/Versions/A/Headers/"
# The generated module map, as a framework module.
sed 's/^module /framework module /' "$GEN/$NAME.modulemap" >"$FW/Versions/A/Modules/module.modulemap"
cat >"$FW/Versions/A/Resources/Info.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>CFBundleDevelopmentRegion</key><string>en</string>
  <key>CFBundleExecutable</key><string>$NAME</string>
  <key>CFBundleIdentifier</key><string>vn.eid.wallet.testing.ffi</string>
  <key>CFBundleInfoDictionaryVersion</key><string>6.0</string>
  <key>CFBundleName</key><string>$NAME</string>
  <key>CFBundlePackageType</key><string>FMWK</string>
  <key>CFBundleShortVersionString</key><string>0.0.0</string>
  <key>CFBundleVersion</key><string>1</string>
  <key>LSMinimumSystemVersion</key><string>12.0</string>
</dict>
</plist>
PLIST
ln -s A "$FW/Versions/Current"
for l in "$NAME" Headers Modules Resources; do ln -s "Versions/Current/$l" "$FW/$l"; done
# Ad-hoc signature (arm64 macOS loads only signed code; lipo/install_name_tool invalidate the linker's).
codesign --force --sign - "$FW"
xcodebuild -create-xcframework -framework "$FW" -output "$OUT/$NAME.xcframework"
rm -rf "$OUT/fw" "$GEN"
echo "built $OUT/$NAME.xcframework and $OUT/EidWalletTesting/EidWalletTesting.swift"
