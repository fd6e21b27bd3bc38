// XCTests of the Swift bindings, mirroring android/jvm-test (run on macOS: scripts/build-xcframework.sh,
// then `cd ios && swift test`; on Linux: scripts/swift.sh, a step of scripts/test.sh). Here: the
// calls that need neither a backend nor the test-only library. The journeys that do (activation
// with the simulated chip, sync, present/verify, online tokens, remote signing) are in
// WalletJourneyTests.swift: they need scripts/build-xcframework.sh --with-test-support and EID_CLI
// (see ios/README.md).
#if canImport(CryptoKit)
import CryptoKit
#else
import TestCrypto  // Linux: CryptoKit's calls over OpenSSL (Linux/TestCrypto)
#endif
import Foundation
import XCTest
@testable import EidWallet

/// The wallet's KeyStore in software (CryptoKit): what the Secure Enclave glue does in hardware.
final class SoftwareKeyStore: KeyStore, @unchecked Sendable {
    private var signing: [String: P256.Signing.PrivateKey] = [:]
    private var wrapping: [String: SymmetricKey] = [:]
    private let lock = NSLock()

    func createSigningKey(alias: String) throws -> Data {
        lock.lock(); defer { lock.unlock() }
        if signing[alias] != nil { throw EidError.KeyAlreadyExists }
        let key = P256.Signing.PrivateKey()
        signing[alias] = key
        return key.publicKey.x963Representation
    }

    func publicKey(alias: String) throws -> Data? {
        lock.lock(); defer { lock.unlock() }
        return signing[alias]?.publicKey.x963Representation
    }

    func sign(alias: String, message: Data) throws -> Data {
        lock.lock(); defer { lock.unlock() }
        guard let key = signing[alias] else { throw EidError.KeyNotFound }
        return try key.signature(for: message).derRepresentation
    }

    func delete(alias: String) throws {
        lock.lock(); defer { lock.unlock() }
        signing[alias] = nil
        wrapping[alias] = nil
    }

    func attestation(alias: String) throws -> [Data]? {
        lock.lock(); defer { lock.unlock() }
        if signing[alias] == nil { throw EidError.KeyNotFound }
        return nil
    }

    func wrapKey(alias: String, key: Data) throws -> Data {
        lock.lock(); defer { lock.unlock() }
        let k = wrapping[alias] ?? SymmetricKey(size: .bits256)
        wrapping[alias] = k
        let sealed = try AES.GCM.seal(key, using: k, authenticating: Data(alias.utf8))
        return sealed.combined!
    }

    func unwrapKey(alias: String, wrapped: Data) throws -> Data {
        lock.lock(); defer { lock.unlock() }
        guard let k = wrapping[alias] else { throw EidError.KeyNotFound }
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return try AES.GCM.open(box, using: k, authenticating: Data(alias.utf8))
        } catch {
            throw EidError.Crypto
        }
    }
}

/// A card without the eMRTD application: every SELECT is refused with 6A82.
final class NotAPassport: ApduTransport, @unchecked Sendable {
    var apdus = 0
    func transceive(command: Data) throws -> Data { apdus += 1; return Data([0x6A, 0x82]) }
    func maxTransceiveLength() -> UInt32 { 261 }
    func extendedLengthSupported() -> Bool { false }
    func reconnect() throws {}
}

/// Collects what a listener or the log forwarder receives (called on Rust's threads).
final class Collected<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []

    func add(_ item: T) {
        lock.lock(); defer { lock.unlock() }
        items.append(item)
    }

    var all: [T] {
        lock.lock(); defer { lock.unlock() }
        return items
    }
}

/// The library's log lines, as an app forwards them to os_log.
final class LogLines: LogForwarder, @unchecked Sendable {
    let lines = Collected<(level: LogLevel, message: String)>()
    func log(level: LogLevel, message: String) { lines.add((level: level, message: message)) }
}

/// Runs `body`, fails when it throws nothing, and hands the error to `check`.
func assertThrowsAsync<T>(
    _ body: () async throws -> T, _ check: (Error) -> Void = { _ in },
    file: StaticString = #filePath, line: UInt = #line
) async {
    do {
        _ = try await body()
        XCTFail("no error thrown", file: file, line: line)
    } catch {
        check(error)
    }
}

final class EidWalletTests: XCTestCase {
    private func openWallet(in dir: URL? = nil) throws -> WalletHandle {
        let dir = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        return try WalletHandle.open(
            config: WalletConfig(dataDir: dir.path, backendUrl: "http://127.0.0.1:9"),
            keyStore: SoftwareKeyStore(), http: URLSessionTransport())
    }

    func testWrongPasscodeSurfacesAttemptsLeftAndIsLoggedWithoutDigits() throws {
        let log = LogLines()
        setLogForwarder(forwarder: log, maxLevel: .debug)
        defer { setLogForwarder(forwarder: nil, maxLevel: .error) }
        let wallet = try openWallet()
        XCTAssertEqual(try wallet.setUp(passcode: "123456").count, 65)
        wallet.lock()
        XCTAssertThrowsError(try wallet.unlock(passcode: "000000")) { error in
            guard case EidError.WrongPasscode(let left) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(left, 4)
        }
        XCTAssertFalse(wallet.isUnlocked())
        XCTAssertThrowsError(try wallet.documents()) { error in
            guard case EidError.NotUnlocked = error else { return XCTFail("\(error)") }
        }
        try wallet.unlock(passcode: "123456")
        XCTAssertEqual(try wallet.documentCount(), 0)
        XCTAssertEqual(try wallet.state(), .notActivated)
        let lines = log.lines.all
        XCTAssertTrue(
            lines.contains { $0.level == .warn && $0.message.hasPrefix("unlock: wrong passcode") }, "\(lines)")
        XCTAssertFalse(
            lines.contains { $0.message.contains("000000") || $0.message.contains("123456") }, "\(lines)")
    }

    func testCardWithoutTheApplicationIsUnsupported() async throws {
        let link = NotAPassport()
        do {
            _ = try await readChip(
                transport: link,
                key: .can(can: "123456"),
                options: ChipReadOptions(photo: false, aaChallenge: nil),
                listener: nil, cancel: nil)
            XCTFail("read a card that has no eMRTD application")
        } catch EidError.ChipUnsupported {
            XCTAssertGreaterThan(link.apdus, 0)
        }
    }

    func testUnreachableBackendIsNetwork() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        let wallet = try openWallet(in: dir)
        _ = try wallet.setUp(passcode: "123456")
        do {
            _ = try await wallet.startActivation(idNumber: "001099012345", phone: "0912345678")
            XCTFail("activation reached a backend on port 9")
        } catch EidError.Network {
        }
        await assertThrowsAsync({ try await Verifier.fetch(backendUrl: "http://127.0.0.1:9", http: URLSessionTransport()) }) { error in
            guard case EidError.Network = error else { return XCTFail("\(error)") }
        }
        await assertThrowsAsync({ try await wallet.signingEnrol() }) { error in
            guard case EidError.InvalidInput = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("wallet.db").path))
    }

    func testPresentNeedsThePasscode() throws {
        let wallet = try openWallet()
        _ = try wallet.setUp(passcode: "123456")
        wallet.lock()
        XCTAssertThrowsError(
            try wallet.present(profile: .airport, consent: .passcode(passcode: try Passcode(digits: "000000")), nonce: nil)
        ) { error in
            guard case EidError.WrongPasscode(let left) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(left, 4)
        }
        XCTAssertFalse(wallet.isUnlocked())
    }

    func testVerifierRefusesATrustListThatDoesNotDecode() throws {
        XCTAssertThrowsError(try Verifier(trustList: Data([1, 2, 3]), statusList: nil)) { error in
            guard case EidError.InvalidInput = error else { return XCTFail("\(error)") }
        }
    }

    func testVerifierAndDeskNeedTheBackend() async throws {
        do {
            _ = try await Verifier.fetch(backendUrl: "http://127.0.0.1:9", http: URLSessionTransport())
            XCTFail("fetched lists from a backend on port 9")
        } catch EidError.Network {
        }
        do {
            _ = try await VerifierDesk.register(
                backendUrl: "http://127.0.0.1:9", keyStore: SoftwareKeyStore(),
                adminToken: "token", name: "desk", profiles: [.airport], http: URLSessionTransport())
            XCTFail("registered at a backend on port 9")
        } catch EidError.Network {
        }
    }

    func testSigningNeedsAnActivatedWallet() async throws {
        let wallet = try openWallet()
        _ = try wallet.setUp(passcode: "123456")
        do {
            _ = try await wallet.signingEnrol()
            XCTFail("enrolled a wallet that is not activated")
        } catch EidError.InvalidInput {
        }
        XCTAssertEqual(try wallet.presentationStock().map(\.unused).reduce(0, +), 0)
    }
}
