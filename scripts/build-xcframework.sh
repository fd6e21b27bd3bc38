#!/usr/bin/env bash
# Builds ios/build/EidWalletFFI.xcframework from libeid_ffi.a for iOS devices, the simulators
# (arm64 + x86_64) and macOS (so `swift test` runs the XCTests on a Mac).
# Needs macOS with Xcode and: rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin
# Then: cd ios && swift test   (or add the package to an Xcode project).
set -euo pipefail
cd "$(dirname "$0")/.."
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
