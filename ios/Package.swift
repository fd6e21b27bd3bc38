// swift-tools-version:5.9
// The e-ID wallet for iOS: the generated Swift bindings (Sources/EidWallet) over the Rust library,
// shipped as an XCFramework built by scripts/build-xcframework.sh (macOS with Xcode).
import Foundation
import PackageDescription

let here = URL(fileURLWithPath: Context.packageDirectory)

// Test support, present only after `scripts/build-xcframework.sh --with-test-support` (macOS):
// the test-only library (simulated chip, synthetic citizens, dev SMS outbox) as a dynamic
// framework and its generated Swift bindings. Without it the package is the one app integrators
// get, and the XCTests that need it are skipped.
let testSupport = FileManager.default.fileExists(
    atPath: here.appendingPathComponent("build/EidWalletTestingFFI.xcframework").path)

var targets: [Target] = [
    // libeid_ffi.a per platform + the C header and module map (EidWalletFFI) of the bindings.
    .binaryTarget(name: "EidWalletFFI", path: "build/EidWalletFFI.xcframework"),
    .target(name: "EidWallet", dependencies: ["EidWalletFFI"], path: "Sources/EidWallet"),
]

if testSupport {
    let macOS: TargetDependencyCondition = .when(platforms: [.macOS])
    // Where the framework sits in the XCFramework, in case the toolchain does not stage it next
    // to the test bundle.
    let slice = here.appendingPathComponent("build/EidWalletTestingFFI.xcframework/macos-arm64_x86_64").path
    targets += [
        .binaryTarget(name: "EidWalletTestingFFI", path: "build/EidWalletTestingFFI.xcframework"),
        .target(name: "EidWalletTesting", dependencies: ["EidWalletTestingFFI"], path: "build/EidWalletTesting"),
        .testTarget(
            name: "EidWalletTests",
            dependencies: ["EidWallet", .target(name: "EidWalletTesting", condition: macOS)],
            path: "Tests/EidWalletTests",
            linkerSettings: [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", slice], .when(platforms: [.macOS]))]),
    ]
} else {
    targets += [
        .testTarget(name: "EidWalletTests", dependencies: ["EidWallet"], path: "Tests/EidWalletTests"),
    ]
}

let package = Package(
    name: "EidWallet",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "EidWallet", targets: ["EidWallet"]),
    ],
    targets: targets
)
