// The whole journey through the Swift bindings against `eid serve` started by the tests: the
// mirror of android/jvm-test WalletTest.kt. Needs the test-only library (simulated chip, synthetic
// citizens, dev SMS outbox): scripts/build-xcframework.sh --with-test-support, and the `eid`
// binary (cargo build -p eid-cli) in EID_CLI:
//   cd ios && EID_CLI=$PWD/../target/debug/eid swift test
// On Linux scripts/swift.sh provides both (the test-only library's bindings staged in ios/build/).
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

/// Starts `process` with SIGTERM and SIGINT unblocked in it. On Linux, Foundation's Process
/// (swift-corelibs-foundation) gives the child the signal mask of the thread that starts it, and
/// async tests run on libdispatch's threads, which block them: `eid serve` never saw
/// `terminate()` and ran on after the tests (seen on the first Linux runs). Apple's Process is
/// another implementation, left as it was.
func runWithSignals(_ process: Process) throws {
    #if os(Linux)
    var unblock = sigset_t()
    var previous = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGTERM)
    sigaddset(&unblock, SIGINT)
    pthread_sigmask(SIG_UNBLOCK, &unblock, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    #endif
    try process.run()
}

/// `eid serve` on SQLite in a temporary directory, started once for all the journeys.
final class Backend {
    let url: String
    let adminToken: String
    private let process: Process
    private let dir: URL

    private static let lock = NSLock()
    private static var running: Backend?

    /// The running backend, started on first use; skips the test when EID_CLI is not set.
    static func shared() throws -> Backend {
        lock.lock(); defer { lock.unlock() }
        if let b = running { return b }
        guard let cli = ProcessInfo.processInfo.environment["EID_CLI"], !cli.isEmpty else {
            throw XCTSkip("EID_CLI is not set (the path of `eid`: cargo build -p eid-cli)")
        }
        let b = try Backend(cli: cli)
        running = b
        return b
    }

    static func stop() {
        lock.lock(); defer { lock.unlock() }
        running?.terminate()
        running = nil
    }

    private init(cli: String) throws {
        adminToken = UUID().uuidString
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("eid-backend-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        let db = dir.appendingPathComponent("backend.db").path
        process.arguments = ["serve", "--dev", "--addr", "127.0.0.1:0", "--db", "sqlite://\(db)", "--log", "warn"]
        var env = ProcessInfo.processInfo.environment
        env["EID_ADMIN_TOKEN"] = adminToken
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try runWithSignals(process)
        do {
            url = try Backend.address(out.fileHandleForReading)
        } catch {
            process.terminate()
            throw error
        }
        // Keep draining stdout so that the server never blocks on a full pipe.
        out.fileHandleForReading.readabilityHandler = { h in
            if h.availableData.isEmpty { h.readabilityHandler = nil }
        }
    }

    /// The URL of the "listening on URL" line; eid serve may print other lines (a development
    /// admin token) before it.
    private static func address(_ reader: FileHandle) throws -> String {
        var buffer = Data()
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { throw BackendError.exited }
            buffer.append(chunk)
            let lines = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\n").dropLast()
            if let line = lines.first(where: { $0.hasPrefix("listening on ") }) {
                let url = String(line.dropFirst("listening on ".count)).trimmingCharacters(in: .whitespacesAndNewlines)
                guard url.hasPrefix("http://127.0.0.1:") else { throw BackendError.address(line) }
                return url
            }
        }
    }

    private func terminate() {
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        try? FileManager.default.removeItem(at: dir)
    }

    enum BackendError: Error {
        case exited
        case address(String)
    }
}

final class Stages: ChipReadListener, @unchecked Sendable {
    let stages = Collected<ChipStage>()
    func onProgress(progress: ChipProgress) { stages.add(progress.stage) }
}

final class Steps: SyncListener, @unchecked Sendable {
    let steps = Collected<SyncStep>()
    func onSync(step: SyncStep) { steps.add(step) }
}

final class WalletJourneyTests: XCTestCase {
    override class func tearDown() {
        Backend.stop()
        super.tearDown()
    }

    static func tempDir() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("eid-wallet-\(UUID().uuidString)")
    }

    static func openWallet(_ dir: URL, _ backendUrl: String, keys: KeyStore = SoftwareKeyStore()) throws -> WalletHandle {
        try WalletHandle.open(config: WalletConfig(dataDir: dir.path, backendUrl: backendUrl), keyStore: keys, http: URLSessionTransport())
    }

    static func mrzKey(_ c: SimCitizen) -> ChipAccessKey {
        .mrz(idNumber: c.idNumber, dateOfBirth: c.dateOfBirth, dateOfExpiry: c.dateOfExpiry)
    }

    /// A wallet activated (level 2) for `citizen` against the test backend, and synced.
    static func activated(_ backend: Backend, _ citizen: SimCitizen) async throws -> WalletHandle {
        let wallet = try Self.openWallet(Self.tempDir(), backend.url)
        _ = try wallet.setUp(passcode: "123456")
        let pending = try await wallet.startActivation(idNumber: citizen.idNumber, phone: citizen.phone)
        let link = SimLink(try SimulatedCard(idNumber: citizen.idNumber, dropEvery: nil))
        let chip = try await readChip(
            transport: link, key: Self.mrzKey(citizen),
            options: ChipReadOptions(photo: false, aaChallenge: pending.chipChallenge),
            listener: nil, cancel: nil)
        let code = try XCTUnwrap(try devSmsCode(backendUrl: backend.url, phone: citizen.phone))
        _ = try await wallet.completeActivation(pending: pending, smsCode: code, chip: chip, passcode: try Passcode(digits: "123456"))
        // With the passcode: presentation credentials need the citizen's consent (ADR 0017).
        _ = try await wallet.sync(listener: nil, passcode: try Passcode(digits: "123456"))
        return wallet
    }

    func testActivateSyncAndReadDocuments() async throws {
        let backend = try Backend.shared()
        let citizen = simCitizens(count: 3)[2]
        let wallet = try Self.openWallet(Self.tempDir(), backend.url)
        XCTAssertEqual(try wallet.setUp(passcode: "123456").count, 65)
        XCTAssertEqual(try wallet.state(), .notActivated)

        let pending = try await wallet.startActivation(idNumber: citizen.idNumber, phone: citizen.phone)
        let smsCode = try XCTUnwrap(try devSmsCode(backendUrl: backend.url, phone: citizen.phone))

        let listener = Stages()
        let card = try SimulatedCard(idNumber: citizen.idNumber, dropEvery: 15)
        let link = SimLink(card)
        let chip = try await readChip(
            transport: link, key: Self.mrzKey(citizen),
            options: ChipReadOptions(photo: false, aaChallenge: pending.chipChallenge),
            listener: listener, cancel: nil)
        let summary = chip.summary()
        XCTAssertEqual(summary.idNumber, citizen.idNumber)
        XCTAssertEqual(summary.chipAuthentication, .valid)
        XCTAssertGreaterThan(card.reconnects(), 0, "the link dropped and the read resumed")
        XCTAssertEqual(listener.stages.all.last, ChipStage.done)

        let activation = try await wallet.completeActivation(pending: pending, smsCode: smsCode, chip: chip, passcode: try Passcode(digits: "123456"))
        XCTAssertEqual(activation.level, 2)
        XCTAssertEqual(try wallet.state(), AccountStatus.active(level: 2))
        XCTAssertEqual(try wallet.accountId(), activation.accountId)

        let steps = Steps()
        let report = try await wallet.sync(listener: steps, passcode: nil)
        XCTAssertGreaterThanOrEqual(report.updated, 4, "documents synced: \(report)")
        XCTAssertEqual(steps.steps.all, [.trustList, .statusList, .documents, .applying, .done])
        let docs = try wallet.documents()
        // Kinds are machine names (docs/adr/0060): the built-in ones here (as WalletTest.kt).
        let builtIn: Set<String> = [
            "identity", "driving_licence", "health_insurance", "health_record", "vehicle_registration",
            "vaccination", "judicial_record", "birth_certificate", "marriage_certificate",
            "social_insurance_book", "residence", "tax_info", "e_health_book",
        ]
        XCTAssertEqual(Set(docs.map(\.kind)), builtIn)
        XCTAssertTrue(docs.allSatisfy { $0.status == .valid })
        let identityId = try XCTUnwrap(docs.first { $0.kind == "identity" }).id
        XCTAssertTrue(try wallet.document(id: identityId).fieldsJson.contains(citizen.idNumber))
        XCTAssertNil(try wallet.syncStatus().lastError)
    }

    func testWrongAccessKeyIsChipAccessDenied() async throws {
        let citizen = simCitizens(count: 1)[0]
        let link = SimLink(try SimulatedCard(idNumber: citizen.idNumber, dropEvery: nil))
        let wrongKey = ChipAccessKey.mrz(
            idNumber: citizen.idNumber, dateOfBirth: "000101", dateOfExpiry: citizen.dateOfExpiry)
        await assertThrowsAsync({
            try await readChip(
                transport: link, key: wrongKey, options: ChipReadOptions(photo: false, aaChallenge: nil),
                listener: nil, cancel: nil)
        }) { error in
            guard case EidError.ChipAccessDenied = error else { return XCTFail("\(error)") }
        }
        XCTAssertGreaterThan(link.apdus, 0)
    }

    func testPresentOfflineAndVerifyWithTheBackendsLists() async throws {
        let backend = try Backend.shared()
        let citizen = simCitizens(count: 4)[3]
        let wallet = try await Self.activated(backend, citizen)
        let stock = Dictionary(try wallet.presentationStock().map { ($0.profile, $0.unused) }, uniquingKeysWith: { _, b in b })
        let airport = stock[.airport] ?? 0
        XCTAssertGreaterThan(airport, 0, "airport credentials synced: \(stock)")

        let preview = try wallet.presentationPreview(profile: .airport)
        XCTAssertEqual(preview.first { $0.name == "full_name" }?.value, citizen.fullName)
        XCTAssertEqual(preview.first { $0.name == "full_name" }?.label, "Họ và tên")

        let nonce = Data((0..<16).map { UInt8($0) })
        let qr = try wallet.present(profile: .airport, consent: .passcode(passcode: try Passcode(digits: "123456")), nonce: nonce)
        XCTAssertTrue(qr.text.hasPrefix("VN1:"), String(qr.text.prefix(8)))
        XCTAssertFalse(qr.online)
        XCTAssertEqual(qr.ecc, "M")
        XCTAssertTrue((1...13).contains(Int(qr.qrVersion)), "version \(qr.qrVersion)")
        XCTAssertEqual(Int(qr.size), 17 + 4 * Int(qr.qrVersion))
        XCTAssertEqual(qr.modules.count, Int(qr.size) * Int(qr.size))
        // The top-left finder pattern: a dark 7-module edge row.
        XCTAssertTrue(qr.modules.prefix(7).allSatisfy { $0 }, "finder pattern")
        XCTAssertTrue((UInt64(200)...400).contains(qr.payloadBytes), "payload \(qr.payloadBytes)")
        XCTAssertGreaterThan(qr.expiresAt, UInt64(Date().timeIntervalSince1970))
        XCTAssertEqual(try wallet.presentationStock().first { $0.profile == .airport }?.unused, airport - 1)

        let verifier = try await Verifier.fetch(backendUrl: backend.url, http: URLSessionTransport())
        let verdict = verifier.verifyOffline(text: qr.text, nonce: nonce, expectedProfile: .airport)
        XCTAssertTrue(verdict.valid, "\(verdict.reasons)")
        XCTAssertEqual(verdict.profile, Profile.airport)
        XCTAssertEqual(verdict.fields.map(\.name), preview.map(\.name))
        XCTAssertEqual(verdict.fields.first { $0.name == "id_number" }?.value, citizen.idNumber)
        XCTAssertNotNil(verdict.statusListAgeS)
        XCTAssertEqual(verdict.reasons, [])

        // One character changed in the middle of the base45 text.
        var chars = Array(qr.text)
        let i = chars.count / 2
        chars[i] = chars[i] == "A" ? "B" : "A"
        let bad = verifier.verifyOffline(text: String(chars), nonce: nonce, expectedProfile: .airport)
        XCTAssertFalse(bad.valid)
        XCTAssertFalse(bad.reasons.isEmpty)
        XCTAssertTrue(bad.fields.isEmpty)

        let wrongNonce = verifier.verifyOffline(text: qr.text, nonce: Data(count: 16), expectedProfile: .airport)
        XCTAssertFalse(wrongNonce.valid)
        XCTAssertTrue(wrongNonce.reasons.contains { verdictReasonMessage(reason: $0).contains("nonce") }, "\(wrongNonce.reasons)")

        let otherDesk = verifier.verifyOffline(text: qr.text, nonce: nonce, expectedProfile: .clinic)
        XCTAssertFalse(otherDesk.valid)

        XCTAssertThrowsError(try Verifier(trustList: Data([1, 2, 3]), statusList: nil)) { error in
            guard case EidError.InvalidInput = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(try wallet.transactions().contains { $0.kind == .presentation && $0.profile == "airport" })
    }

    func testAPasscodeNeverPrintsItsDigits() throws {
        let consent = Consent.passcode(passcode: try Passcode(digits: "135790"))
        guard case let .passcode(passcode) = consent else { return XCTFail("not a passcode") }
        for shown in [passcode.description, passcode.debugDescription, "\(passcode)", String(describing: consent)] {
            XCTAssertFalse(shown.contains("135790"), shown)
        }
        XCTAssertEqual(passcode.description, "Passcode(******)")
        XCTAssertThrowsError(try Passcode(digits: "12345"))
    }

    func testPresentOnlineAndRedeemOnceAtARegisteredDesk() async throws {
        let backend = try Backend.shared()
        let citizen = simCitizens(count: 5)[4]
        let wallet = try await Self.activated(backend, citizen)
        let token = try await wallet.presentOnline(profile: .airport, passcode: try Passcode(digits: "123456"))
        XCTAssertTrue(token.online)
        XCTAssertTrue(token.text.hasPrefix("VNT2:"), String(token.text.prefix(8)))
        XCTAssertEqual(token.modules.count, Int(token.size) * Int(token.size))

        await assertThrowsAsync({
            try await VerifierDesk.register(
                backendUrl: backend.url, keyStore: SoftwareKeyStore(), adminToken: "not-the-token",
                name: "desk", profiles: [.airport], http: URLSessionTransport())
        }) { error in
            guard case EidError.Backend = error else { return XCTFail("\(error)") }
        }
        let deskKeys = SoftwareKeyStore()
        let desk = try await VerifierDesk.register(
            backendUrl: backend.url, keyStore: deskKeys, adminToken: backend.adminToken,
            name: "Noi Bai T2 check-in 14", profiles: [.airport], http: URLSessionTransport())
        XCTAssertFalse(desk.verifierId().isEmpty)
        XCTAssertNotNil(try deskKeys.publicKey(alias: "eid.verifier"), "the desk key lives in the desk's key store")

        let verdict = try await desk.redeem(text: token.text)
        XCTAssertTrue(verdict.valid, "\(verdict.reasons)")
        XCTAssertTrue(verdict.online)
        XCTAssertEqual(verdict.profile, Profile.airport)
        XCTAssertEqual(verdict.fields.first { $0.name == "full_name" }?.value, citizen.fullName)

        // The same desk, reopened from its id, cannot redeem the token again.
        let reopened = VerifierDesk.open(
            backendUrl: backend.url, keyStore: deskKeys, verifierId: desk.verifierId(),
            http: URLSessionTransport())
        await assertThrowsAsync({ try await reopened.redeem(text: token.text) }) { error in
            guard case EidError.TokenUsed = error else { return XCTFail("\(error)") }
        }

        // A clinic-only desk may not receive an airport token; an offline QR is not redeemed.
        let clinic = try await VerifierDesk.register(
            backendUrl: backend.url, keyStore: SoftwareKeyStore(), adminToken: backend.adminToken,
            name: "clinic", profiles: [.clinic], http: URLSessionTransport())
        let second = try await wallet.presentOnline(profile: .airport, passcode: try Passcode(digits: "123456"))
        await assertThrowsAsync({ try await clinic.redeem(text: second.text) }) { error in
            guard case EidError.Backend(let code, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, "not_allowed")
        }
        let offline = try wallet.present(profile: .airport, consent: .passcode(passcode: try Passcode(digits: "123456")), nonce: nil)
        await assertThrowsAsync({ try await desk.redeem(text: offline.text) }) { error in
            guard case EidError.InvalidInput = error else { return XCTFail("\(error)") }
        }
    }

    func testEnrolAndSignAFileIntoADetachedCms() async throws {
        let backend = try Backend.shared()
        let citizen = simCitizens(count: 6)[5]
        let wallet = try await Self.activated(backend, citizen)
        let credential = try await wallet.signingEnrol()
        XCTAssertEqual(credential.status, "enabled")
        XCTAssertTrue(credential.subject.contains(citizen.idNumber), credential.subject)
        XCTAssertEqual(credential.certificate.first, 0x30)
        let credentials = try await wallet.signingCredentials()
        XCTAssertEqual(credentials.map(\.credentialId), [credential.credentialId])

        let content = Data("Đơn đề nghị cấp phiếu lý lịch tư pháp".utf8)
        let request = SigningRequest(fileName: "don-de-nghi.pdf", content: content, relyingParty: "Sở Tư pháp Hà Nội")
        let sha256 = SHA256.hash(data: content).map { String(format: "%02x", $0) }.joined()
        let consent = try await wallet.signingConsent(request: request)
        XCTAssertEqual(consent.sha256Hex, sha256)
        XCTAssertEqual(consent.relyingParty, "Sở Tư pháp Hà Nội")
        XCTAssertEqual(consent.size, UInt64(content.count))

        let signed = try await wallet.sign(request: request, passcode: "123456")
        XCTAssertEqual(signed.consent, consent)
        let cms = [UInt8](signed.cms)
        XCTAssertGreaterThan(cms.count, 500, "CMS of \(cms.count) bytes")
        XCTAssertEqual(cms[0], 0x30, "a DER SEQUENCE")
        // Definite long-form length covering the whole encoding.
        XCTAssertNotEqual(cms[1] & 0x80, 0)
        let lenBytes = Int(cms[1] & 0x7f)
        let len = (0..<lenBytes).reduce(0) { acc, k in (acc << 8) | Int(cms[2 + k]) }
        XCTAssertEqual(cms.count, 2 + lenBytes + len)
        XCTAssertTrue(try wallet.transactions().contains { $0.kind == .signing && $0.outcome == .success })

        await assertThrowsAsync({ try await wallet.sign(request: request, passcode: "000000") }) { error in
            guard case EidError.WrongPasscode(let left) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(left, 4)
        }
        XCTAssertNotEqual(signed.signingTime, 0)
    }
}

#else

/// Without the test-support framework the journeys are not compiled: say so instead of passing.
final class WalletJourneyTests: XCTestCase {
    func testJourneysNeedTheTestSupport() throws {
        throw XCTSkip("""
            the journeys need the test-only library: scripts/build-xcframework.sh --with-test-support \
            (macOS), then EID_CLI=<path of eid> swift test
            """)
    }
}

#endif
