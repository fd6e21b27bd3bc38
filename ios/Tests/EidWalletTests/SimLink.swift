// An ApduTransport in Swift over the simulated CCCD of the test-only library, shaped like the
// Core NFC glue (NFCISO7816Tag.sendCommand): a dropped link throws ChipLinkLost.
#if canImport(EidWalletTesting)
import Foundation
import EidWallet
import EidWalletTesting

final class SimLink: ApduTransport, @unchecked Sendable {
    private let card: SimulatedCard
    private let lock = NSLock()
    private var count = 0

    init(_ card: SimulatedCard) {
        self.card = card
    }

    var apdus: Int {
        lock.lock(); defer { lock.unlock() }
        return count
    }

    func transceive(command: Data) throws -> Data {
        lock.lock(); count += 1; lock.unlock()
        do {
            return try card.transceive(command: command)
        } catch SimError.LinkLost {
            throw EidError.ChipLinkLost
        } catch {
            throw EidError.ChipFailed(reason: "\(error)")
        }
    }

    func maxTransceiveLength() -> UInt32 { 65544 }

    func extendedLengthSupported() -> Bool { true }

    func reconnect() throws {
        do {
            try card.reconnect()
        } catch {
            throw EidError.ChipFailed(reason: "\(error)")
        }
    }
}
#endif
