// swift-tools-version:5.9
// The e-ID wallet for iOS: the generated Swift bindings (Sources/EidWallet) over the Rust library,
// shipped as an XCFramework built by scripts/build-xcframework.sh (macOS with Xcode).
import PackageDescription

let package = Package(
    name: "EidWallet",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "EidWallet", targets: ["EidWallet"]),
    ],
    targets: [
        // libeid_ffi.a per platform + the C header and module map (EidWalletFFI) of the bindings.
        .binaryTarget(name: "EidWalletFFI", path: "build/EidWalletFFI.xcframework"),
        .target(name: "EidWallet", dependencies: ["EidWalletFFI"], path: "Sources/EidWallet"),
        .testTarget(name: "EidWalletTests", dependencies: ["EidWallet"], path: "Tests/EidWalletTests"),
    ]
)
