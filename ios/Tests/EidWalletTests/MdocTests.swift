// ISO 18013-5 through the Swift bindings, holder and reader in one process: an iPhone presents by
// QR and BLE (it offers no HCE to most apps), and an iPhone verifier reads a phone tapped to it
// (NFC engagement, then BLE when the phone's handover names it). The GATT and NFC links here
// only move bytes, as the CoreBluetooth and CoreNFC glue do; the mirror of android/jvm-test
// MdocTest.kt. Needs the test support and the backend of WalletJourneyTests.
import Foundation
import XCTest
@testable import EidWallet

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(EidWalletTesting)
import EidWalletTesting

/// One side's GATT link: what it sends reaches the peer's session at once.
final class MemoryGattLink: MdocGattLink, @unchecked Sendable {
    private let size: UInt32
    var deliver: ((MdocCharacteristic, Data) throws -> Void)?
    var closed: (() -> Void)?
    var ident: Data?
    private(set) var largest = 0

    init(mtu: UInt32) { size = mtu }

    func mtu() -> UInt32 { size }

    func send(characteristic: MdocCharacteristic, value: Data) throws {
        largest = max(largest, value.count)
        try deliver?(characteristic, value)
    }

    func read(characteristic: MdocCharacteristic) throws -> Data {
        guard characteristic == .ident, let ident else {
            throw EidError.InvalidInput(reason: "no such characteristic")
        }
        return ident
    }

    func disconnect() { closed?() }
}

/// The reader's NFC link: every command APDU goes to the holder's `processApdu`, as HCE does.
final class HceLink: ApduTransport, @unchecked Sendable {
    private let holder: MdocNfcPresentation
    private(set) var commands: [Data] = []

    init(_ holder: MdocNfcPresentation) { self.holder = holder }

    func transceive(command: Data) throws -> Data {
        commands.append(command)
        return holder.processApdu(apdu: command)
    }
    func maxTransceiveLength() -> UInt32 { 65544 }
    func extendedLengthSupported() -> Bool { true }
    func reconnect() throws {}
}

/// The citizen: records what was shown, answers `decision`.
final class RecordingConsent: MdocConsent, @unchecked Sendable {
    private let decision: MdocDecision
    private(set) var shown: [MdocPresentationRequest] = []
    init(_ decision: MdocDecision) { self.decision = decision }
    func decide(request: MdocPresentationRequest) -> MdocDecision {
        shown.append(request)
        return decision
    }
}

final class MdocTests: XCTestCase {
    override class func tearDown() {
        Backend.stop()
        super.tearDown()
    }

    private static let photoId = "org.iso.23220.photoid.1"
    private static let photoIdNs = "org.iso.23220.1"

    private func request(_ ids: [String]) -> MdocReadRequest {
        MdocReadRequest(
            docType: Self.photoId,
            elements: ids.map { MdocRequestedElement(namespace: Self.photoIdNs, identifier: $0, intentToRetain: false) })
    }

    /// The IACAs of the backend's trust list (DER).
    private func iacas(_ backend: Backend) throws -> [Data] {
        let response = try URLSessionTransport().exchange(request: HttpRequest(
            method: "GET", url: backend.url + "/v1/trust-list", headers: [:], body: nil, timeoutMs: 10_000))
        XCTAssertEqual(response.status, 200)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
        let listed = try XCTUnwrap(json["iaca"] as? [String])
        return try listed.map { text in
            var b64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            b64 += String(repeating: "=", count: (4 - b64.count % 4) % 4)
            return try XCTUnwrap(Data(base64Encoded: b64))
        }
    }

    /// Joins holder and reader with two in-memory links in `mode`; the reader's verdict.
    private func join(_ holder: MdocBlePresentation, _ reader: MdocBleReader, _ mode: MdocBleMode) throws -> MdocVerdict? {
        let toReader = MemoryGattLink(mtu: 64)
        toReader.deliver = { c, v in _ = try reader.onValue(characteristic: c, value: v) }
        toReader.closed = { _ = reader.onDisconnected() }
        toReader.ident = reader.ident()
        let toHolder = MemoryGattLink(mtu: 64)
        toHolder.deliver = { c, v in _ = try holder.onValue(characteristic: c, value: v) }
        toHolder.closed = { _ = holder.onDisconnected() }
        if mode == .peripheralServer {
            try holder.connected(link: toReader, mode: mode)
            try reader.connected(link: toHolder, mode: mode)
        } else {
            try reader.connected(link: toHolder, mode: mode)
            try holder.connected(link: toReader, mode: mode)
        }
        XCTAssertLessThanOrEqual(max(toReader.largest, toHolder.largest), 61, "chunked at MTU - 3")
        return reader.verdict()
    }

    func testQrThenBleInBothModes() async throws {
        let backend = try Backend.shared()
        let wallet = try await WalletJourneyTests.activated(backend, simCitizens(count: 7)[6])
        let trust = try iacas(backend)
        for mode in [MdocBleMode.peripheralServer, .centralClient] {
            let consent = RecordingConsent(.accept)
            let holder = try wallet.mdocPresentQr(ble: MdocBleOptions(peripheralServer: true, centralClient: true), consent: consent)
            XCTAssertTrue(holder.qrUri().hasPrefix("mdoc:"))
            let asked = ["family_name", "birth_date"]
            let reader = try MdocBleReader(engagementUri: holder.qrUri(), request: request(asked), iacas: trust, readerAuth: nil)
            let verdict = try XCTUnwrap(try join(holder, reader, mode), "\(mode)")
            XCTAssertTrue(verdict.valid, "\(mode): \(verdict.reasons)")
            XCTAssertEqual(Set(verdict.elements.map(\.identifier)), Set(asked))
            XCTAssertEqual(holder.state(), .shared)
            XCTAssertEqual(consent.shown.count, 1)
        }
    }

    /// A phone tapped to an iPhone verifier (CoreNFC as the reader's link): the handover names
    /// BLE, so `mdocTap` hands over to it, static and negotiated; a verifier that takes no mode
    /// the phone offers reads over NFC at once.
    func testATapHandsOverToBle() async throws {
        let backend = try Backend.shared()
        let wallet = try await WalletJourneyTests.activated(backend, simCitizens(count: 2)[1])
        let trust = try iacas(backend)
        let asked = ["family_name", "given_name"]
        for negotiated in [false, true] {
            let consent = RecordingConsent(.accept)
            let holder = try wallet.mdocPresentNfc(consent: consent, ble: MdocBleOptions(peripheralServer: true, centralClient: false), negotiated: negotiated)
            XCTAssertEqual(holder.ble().peripheralServerUuid() == nil, negotiated, "a UUID before the tap only when static")
            let link = HceLink(holder)
            let tap = try await mdocTap(transport: link, ble: MdocBleOptions(peripheralServer: true, centralClient: false), request: request(asked), iacas: trust, readerAuth: nil)
            guard case let .overBle(reader) = tap else { return XCTFail("read over NFC: \(tap)") }
            // The citizen takes the phone away: the HCE link drops, the BLE carrier holds.
            holder.onDeactivated(reason: .linkLoss)
            XCTAssertEqual(reader.peripheralServerUuid(), holder.ble().peripheralServerUuid())
            XCTAssertFalse(link.commands.contains { $0.count > 1 && $0[1] == 0xC3 }, "no ENVELOPE: the data goes over BLE")
            let verdict = try XCTUnwrap(try join(holder.ble(), reader, .peripheralServer))
            XCTAssertTrue(verdict.valid, "negotiated \(negotiated): \(verdict.reasons)")
            XCTAssertEqual(Set(verdict.elements.map(\.identifier)), Set(asked))
            XCTAssertEqual(holder.state(), .shared)
            XCTAssertEqual(consent.shown.count, 1)
        }
        let holder = try wallet.mdocPresentNfc(consent: RecordingConsent(.accept), ble: MdocBleOptions(peripheralServer: true, centralClient: false))
        let tap = try await mdocTap(transport: HceLink(holder), ble: MdocBleOptions(peripheralServer: false, centralClient: true), request: request(["family_name"]), iacas: trust, readerAuth: nil)
        guard case let .read(verdict) = tap else { return XCTFail("went over BLE: \(tap)") }
        XCTAssertTrue(verdict.valid, "\(verdict.reasons)")
        XCTAssertEqual(holder.state(), .shared)
    }
}
#endif
