// A relying party's OpenID4VP request through the Swift bindings (issue 16, docs/adr/0061): the
// mirror of android/jvm-test AuthorizeTest.kt. A bank registered with `eid rp register` runs
// `eid rp serve` against the shared test backend; the wallet shows its verified identity, purpose
// and claims, declines once, refuses a wrong passcode, answers with the passcode, and the bank's
// server sees the verified claims. Needs the test-only library and EID_CLI (WalletJourneyTests).
#if canImport(CryptoKit)
import CryptoKit
#else
import TestCrypto  // Linux: CryptoKit's calls over OpenSSL (Linux/TestCrypto)
#endif
import Foundation
import XCTest
@testable import EidWallet

#if canImport(EidWalletTesting)
import EidWalletTesting

/// The bank: registered for `ekyc`, its `eid rp serve` on a loopback port.
final class Bank {
    static let name = "Ngan hang Swift"
    static let dns = "swbank.example.vn"
    let url: String
    private let process: Process

    init(cli: String, backend: Backend) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eid-bank-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let key = P256.Signing.PrivateKey()
        let keyPath = dir.appendingPathComponent("bank.key.pem")
        let pubPath = dir.appendingPathComponent("bank.pub.pem")
        let certPath = dir.appendingPathComponent("bank.cert.pem")
        try key.pemRepresentation.write(to: keyPath, atomically: true, encoding: .utf8)
        try key.publicKey.pemRepresentation.write(to: pubPath, atomically: true, encoding: .utf8)
        // A port of the 20000s the test picks (the response URI is registered before it listens).
        let port = 20000 + Int.random(in: 0..<10000)
        let register = Process()
        register.executableURL = URL(fileURLWithPath: cli)
        register.arguments = [
            "rp", "--backend", backend.url, "--admin-token", backend.adminToken, "register",
            "--name", Bank.name, "--registration-number", "0105555555", "--dns", Bank.dns,
            "--response-uri", "http://127.0.0.1:\(port)/response", "--purpose", "ekyc",
            "--key-pem", pubPath.path, "--out-cert", certPath.path,
        ]
        register.standardOutput = FileHandle.nullDevice
        try runWithSignals(register)
        register.waitUntilExit()
        guard register.terminationStatus == 0 else { throw Backend.BackendError.exited }
        process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        process.arguments = [
            "rp", "--backend", backend.url, "serve", "--addr", "127.0.0.1:\(port)",
            "--key", keyPath.path, "--cert", certPath.path,
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try runWithSignals(process)
        url = "http://127.0.0.1:\(port)"
        // Its "listening on" line.
        var buffer = Data()
        while !String(decoding: buffer, as: UTF8.self).contains("listening on ") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw Backend.BackendError.exited }
            buffer.append(chunk)
        }
    }

    func stop() {
        process.terminate()
    }

    /// A new session of the page: (openid4vp URI, state).
    func pageRequest() throws -> (String, String) {
        let page = String(decoding: try Data(contentsOf: URL(string: url + "/")!), as: UTF8.self)
        func attr(_ name: String) -> String {
            let tail = page.components(separatedBy: name + "=\"")[1]
            return tail.components(separatedBy: "\"")[0].replacingOccurrences(of: "&amp;", with: "&")
        }
        return (attr("data-openid4vp-uri"), attr("data-state"))
    }

    /// The page's result for `state`: `waiting`, `verified` or `refused`, and the raw JSON.
    func result(_ state: String) throws -> (String, String) {
        let json = String(decoding: try Data(contentsOf: URL(string: "\(url)/result/\(state)")!), as: UTF8.self)
        let status = json.components(separatedBy: "\"status\":\"")[1].components(separatedBy: "\"")[0]
        return (status, json)
    }
}

final class AuthorizeTests: XCTestCase {
    private let ekycClaims = ["family_name", "given_name", "birthdate", "personal_administrative_number"]

    func testABankIsShownDeclinedThenAnsweredWithThePasscode() async throws {
        let backend = try Backend.shared()
        let cli = try XCTUnwrap(ProcessInfo.processInfo.environment["EID_CLI"])
        let bank = try Bank(cli: cli, backend: backend)
        defer { bank.stop() }
        let citizen = simCitizens(count: 8)[7]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eid-wallet-\(UUID().uuidString)")
        let wallet = try WalletHandle.open(
            config: WalletConfig(dataDir: dir.path, backendUrl: backend.url),
            keyStore: SoftwareKeyStore(), http: URLSessionTransport())
        _ = try wallet.setUp(passcode: "123456")
        let pending = try await wallet.startActivation(idNumber: citizen.idNumber, phone: citizen.phone)
        let chip = try await readChip(
            transport: SimLink(try SimulatedCard(idNumber: citizen.idNumber, dropEvery: nil)),
            key: .mrz(idNumber: citizen.idNumber, dateOfBirth: citizen.dateOfBirth, dateOfExpiry: citizen.dateOfExpiry),
            options: ChipReadOptions(photo: false, aaChallenge: pending.chipChallenge),
            listener: nil, cancel: nil)
        let code = try XCTUnwrap(try devSmsCode(backendUrl: backend.url, phone: citizen.phone))
        _ = try await wallet.completeActivation(pending: pending, smsCode: code, chip: chip, passcode: try Passcode(digits: "123456"))
        _ = try await wallet.sync(listener: nil, passcode: try Passcode(digits: "123456"))

        var (uri, state) = try bank.pageRequest()
        var request = try await wallet.authorizeRequest(uri: uri)
        let view = request.view()
        XCTAssertEqual(view.legalName, Bank.name)
        XCTAssertEqual(view.registrationNumber, "0105555555")
        XCTAssertEqual(view.clientId, "x509_san_dns:\(Bank.dns)")
        XCTAssertEqual(view.certificateDnsNames, [Bank.dns])
        XCTAssertEqual(view.purpose, "ekyc")
        XCTAssertFalse(view.viaHub)
        XCTAssertNil(view.onBehalfOf)
        XCTAssertEqual(view.claims.map(\.path), ekycClaims)
        XCTAssertEqual(view.claims.last?.labelEn, "ID number")

        // Declined: access_denied, nothing disclosed, the request spent.
        let declined = try await wallet.authorizeDecline(request: request)
        XCTAssertFalse(declined.disclosed)
        XCTAssertTrue(declined.claims.isEmpty)
        XCTAssertEqual(try bank.result(state).0, "refused")
        XCTAssertTrue(request.isSpent())
        await assertThrowsAsync({
            try await wallet.authorizeAnswer(request: request, passcode: try Passcode(digits: "123456"))
        }) { error in
            guard case EidError.InvalidInput = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(try wallet.disclosureHistory().isEmpty)

        // A wrong passcode: nothing sent, the request still open.
        (uri, state) = try bank.pageRequest()
        request = try await wallet.authorizeRequest(uri: uri)
        await assertThrowsAsync({
            try await wallet.authorizeAnswer(request: request, passcode: try Passcode(digits: "000000"))
        }) { error in
            guard case EidError.WrongPasscode = error else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(request.isSpent())
        XCTAssertEqual(try bank.result(state).0, "waiting")

        let sent = try await wallet.authorizeAnswer(request: request, passcode: try Passcode(digits: "123456"))
        XCTAssertTrue(sent.disclosed)
        XCTAssertEqual(sent.claims, ekycClaims)
        XCTAssertEqual(sent.redirectUri, bank.url + "/")
        let (status, json) = try bank.result(state)
        XCTAssertEqual(status, "verified", json)
        XCTAssertTrue(json.contains("\"personal_administrative_number\":\"\(citizen.idNumber)\""))

        let history = try wallet.disclosureHistory()
        XCTAssertEqual(history.count, 1)
        XCTAssertEqual(history.first?.source, .wallet)
        XCTAssertNil(history.first?.via)
        XCTAssertEqual(history.first?.purpose, "ekyc")
        XCTAssertEqual(history.first?.claims, ekycClaims)
    }
}

#endif
