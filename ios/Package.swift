// swift-tools-version:5.9
// The e-ID wallet for iOS: the generated Swift bindings (Sources/EidWallet) over the Rust library,
// shipped as an XCFramework built by scripts/build-xcframework.sh (macOS with Xcode). On Linux
// the package builds over the shared library instead, for the XCTests (scripts/swift.sh).
import Foundation
import PackageDescription

let here = URL(fileURLWithPath: Context.packageDirectory)

#if os(Linux)
// Linux (scripts/swift.sh, in a Debian trixie root with its swiftlang; docs/adr/0068): the same
// Swift sources over the shared library target/debug/libeid_ffi.so (EID_LIB_DIR overrides the
// folder), with the generated C header through Linux/EidWalletFFI/module.modulemap. No
// CoreBluetooth there (MdocCoreBluetooth.swift compiles to nothing) and no CryptoKit: the tests
// get Linux/TestCrypto, the CryptoKit calls they make over OpenSSL's libcrypto.
let libDir = Context.environment["EID_LIB_DIR"]
    ?? here.appendingPathComponent("../target/debug").standardized.path
let linkRust: [LinkerSetting] = [
    .unsafeFlags(["-L", libDir, "-Xlinker", "-rpath", "-Xlinker", libDir]),
]

// Test support: the test-only library libeid_testing.so (same folder) and its generated Swift
// bindings (Swift module EidWalletTesting, C module EidWalletTestingFFI, names from
// bindings/testing/uniffi.toml), staged in build/ by scripts/swift.sh from what
// `scripts/bindings.sh generate` wrote under target/bindings-testing/swift.
let testSupport = FileManager.default.fileExists(
    atPath: here.appendingPathComponent("build/EidWalletTestingFFI/module.modulemap").path)

var targets: [Target] = [
    .systemLibrary(name: "EidWalletFFI", path: "Linux/EidWalletFFI"),
    .target(name: "EidWallet", dependencies: ["EidWalletFFI"], path: "Sources/EidWallet", linkerSettings: linkRust),
    .systemLibrary(name: "COpenSSL", path: "Linux/COpenSSL"),
    .target(name: "TestCrypto", dependencies: ["COpenSSL"], path: "Linux/TestCrypto"),
    // MdocCoreBluetooth.swift (a link to it) type-checked against a stub of the CoreBluetooth API
    // it calls, in a module of its own: built by `swift build`, linked into nothing. The stub is
    // not named CoreBluetooth: `canImport(CoreBluetooth)` would then turn true for EidWallet too,
    // whenever the stub happened to be built first.
    .target(name: "CoreBluetoothStub", path: "Linux/CoreBluetoothStub"),
    .target(name: "MdocCoreBluetoothCheck", dependencies: ["EidWallet", "CoreBluetoothStub"],
            path: "Linux/MdocCoreBluetoothCheck", swiftSettings: [.define("CORE_BLUETOOTH_STUB")]),
]
var testDependencies: [Target.Dependency] = ["EidWallet", "TestCrypto"]
if testSupport {
    targets += [
        .systemLibrary(name: "EidWalletTestingFFI", path: "build/EidWalletTestingFFI"),
        .target(name: "EidWalletTesting", dependencies: ["EidWalletTestingFFI"], path: "build/EidWalletTesting",
                linkerSettings: linkRust),
    ]
    testDependencies.append("EidWalletTesting")
}
targets.append(.testTarget(name: "EidWalletTests", dependencies: testDependencies, path: "Tests/EidWalletTests"))
#else
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

#endif

let package = Package(
    name: "EidWallet",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "EidWallet", targets: ["EidWallet"]),
    ],
    targets: targets
)
