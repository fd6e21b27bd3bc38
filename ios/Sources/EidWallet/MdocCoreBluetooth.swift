// ISO 18013-5 over BLE with CoreBluetooth: the platform moves bytes, the library runs the session
// (chunking, State, Ident, encryption, consent, transaction log). iOS offers no HCE to most apps:
// QR engagement + BLE there. On Linux (scripts/swift.sh) CoreBluetooth does not exist: this file is
// empty in EidWallet there, and type-checked against a stub of the CoreBluetooth calls it makes
// (ios/Linux/CoreBluetoothStub, target MdocCoreBluetoothCheck); only a Mac build checks it against
// Apple's SDK. See ios/README.md.
#if canImport(CoreBluetooth) || CORE_BLUETOOTH_STUB
#if canImport(CoreBluetooth)
import CoreBluetooth
#else
import CoreBluetoothStub  // Linux, target MdocCoreBluetoothCheck only
#endif
import Foundation

/// One side of a BLE session as the glue drives it: the holder's `MdocBlePresentation` or the
/// reader's `MdocBleReader`.
public protocol MdocBleSession: AnyObject {
    func connected(link: MdocGattLink, mode: MdocBleMode) throws
    func value(characteristic: MdocCharacteristic, value: Data)
    func disconnected()
}

/// The holder's presentation as a BLE session.
public final class MdocHolderBleSession: MdocBleSession {
    let presentation: MdocBlePresentation
    public init(_ presentation: MdocBlePresentation) { self.presentation = presentation }
    public func connected(link: MdocGattLink, mode: MdocBleMode) throws {
        try presentation.connected(link: link, mode: mode)
    }
    public func value(characteristic: MdocCharacteristic, value: Data) {
        _ = try? presentation.onValue(characteristic: characteristic, value: value)
    }
    public func disconnected() { _ = presentation.onDisconnected() }
}

/// The reader as a BLE session.
public final class MdocReaderBleSession: MdocBleSession {
    let reader: MdocBleReader
    public init(_ reader: MdocBleReader) { self.reader = reader }
    public func connected(link: MdocGattLink, mode: MdocBleMode) throws {
        try reader.connected(link: link, mode: mode)
    }
    public func value(characteristic: MdocCharacteristic, value: Data) {
        _ = try? reader.onValue(characteristic: characteristic, value: value)
    }
    public func disconnected() { _ = reader.onDisconnected() }
}

private func uuid(_ mode: MdocBleMode, _ c: MdocCharacteristic) -> CBUUID? {
    mdocCharacteristicUuid(mode: mode, characteristic: c).map { CBUUID(string: $0) }
}

private func characteristic(_ mode: MdocBleMode, _ id: CBUUID) -> MdocCharacteristic? {
    [MdocCharacteristic.state, .client2Server, .server2Client, .ident].first { uuid(mode, $0) == id }
}

/// The GATT server (`CBPeripheralManager`): the holder in mdoc peripheral server mode
/// (`MdocPeripheralServer(presentation:)`, advertising `peripheralServerUuid()`), or the reader
/// in central client mode (`MdocPeripheralServer(reader:)`, with Ident). The library is called on
/// `worker`, in order (never the main queue: the consent may block it); notifications wait for
/// `peripheralManagerIsReady(toUpdateSubscribers:)` when the transmit queue is full.
public final class MdocPeripheralServer: NSObject, CBPeripheralManagerDelegate, MdocGattLink, @unchecked Sendable {
    private let mode: MdocBleMode
    private let serviceUuid: CBUUID
    private let ident: Data?
    private let session: MdocBleSession
    private let queue = DispatchQueue(label: "vn.eid.mdoc.peripheral")
    private let worker = DispatchQueue(label: "vn.eid.mdoc.peripheral.session")
    private var manager: CBPeripheralManager!
    private var characteristics: [MdocCharacteristic: CBMutableCharacteristic] = [:]
    private var central: CBCentral?
    private let ready = DispatchSemaphore(value: 0)

    public init(serviceUuid: String, mode: MdocBleMode, ident: Data?, session: MdocBleSession) {
        self.mode = mode
        self.serviceUuid = CBUUID(string: serviceUuid)
        self.ident = ident
        self.session = session
        super.init()
        manager = CBPeripheralManager(delegate: self, queue: queue)
    }

    /// The holder in peripheral server mode.
    public convenience init(presentation: MdocBlePresentation) throws {
        guard let u = presentation.peripheralServerUuid() else {
            throw EidError.InvalidInput(reason: "peripheral server mode not offered")
        }
        self.init(serviceUuid: u, mode: .peripheralServer, ident: nil, session: MdocHolderBleSession(presentation))
    }

    /// The reader in central client mode (its server offers Ident).
    public convenience init(reader: MdocBleReader) throws {
        guard let u = reader.centralClientUuid() else {
            throw EidError.InvalidInput(reason: "central client mode not offered")
        }
        self.init(serviceUuid: u, mode: .centralClient, ident: reader.ident(), session: MdocReaderBleSession(reader))
    }

    public func stop() {
        queue.async { self.manager.stopAdvertising(); self.manager.removeAllServices() }
    }

    public func peripheralManagerDidUpdateState(_ peripheral: CBPeripheralManager) {
        guard peripheral.state == .poweredOn else { return }
        let service = CBMutableService(type: serviceUuid, primary: true)
        var list: [CBMutableCharacteristic] = []
        func add(_ c: MdocCharacteristic, _ props: CBCharacteristicProperties, _ perms: CBAttributePermissions, _ value: Data? = nil) {
            guard let id = uuid(mode, c) else { return }
            let ch = CBMutableCharacteristic(type: id, properties: props, value: value, permissions: perms)
            characteristics[c] = ch
            list.append(ch)
        }
        add(.state, [.notify, .writeWithoutResponse], [.writeable])
        add(.client2Server, [.writeWithoutResponse], [.writeable])
        add(.server2Client, [.notify], [])
        if mode == .centralClient, let ident { add(.ident, [.read], [.readable], ident) }
        service.characteristics = list
        peripheral.add(service)
        peripheral.startAdvertising([CBAdvertisementDataServiceUUIDsKey: [serviceUuid]])
    }

    public func peripheralManager(_ peripheral: CBPeripheralManager, central: CBCentral, didSubscribeTo characteristic: CBCharacteristic) {
        if self.central == nil {
            self.central = central
            worker.async { try? self.session.connected(link: self, mode: self.mode) }
        }
    }

    public func peripheralManager(_ peripheral: CBPeripheralManager, didReceiveWrite requests: [CBATTRequest]) {
        for r in requests {
            guard r.central.identifier == central?.identifier || central == nil,
                  let c = characteristic(mode, r.characteristic.uuid), let v = r.value else { continue }
            if central == nil {
                central = r.central
                worker.async { try? self.session.connected(link: self, mode: self.mode) }
            }
            worker.async { self.session.value(characteristic: c, value: v) }
        }
    }

    public func peripheralManager(_ peripheral: CBPeripheralManager, central: CBCentral, didUnsubscribeFrom characteristic: CBCharacteristic) {
        if central.identifier == self.central?.identifier { worker.async { self.session.disconnected() } }
    }

    public func peripheralManagerIsReady(toUpdateSubscribers peripheral: CBPeripheralManager) {
        ready.signal()
    }

    // MdocGattLink: called by the library on `worker`.
    public func mtu() -> UInt32 {
        // maximumUpdateValueLength is the ATT payload (MTU - 3).
        UInt32((queue.sync { central?.maximumUpdateValueLength } ?? 20) + 3)
    }

    public func send(characteristic: MdocCharacteristic, value: Data) throws {
        guard let ch = characteristics[characteristic], let central = queue.sync(execute: { self.central }) else {
            throw EidError.Mdoc(reason: "not connected")
        }
        // A full transmit queue: wait for peripheralManagerIsReady (delivered on `queue`).
        while !queue.sync(execute: { manager.updateValue(value, for: ch, onSubscribedCentrals: [central]) }) {
            if ready.wait(timeout: .now() + 5) == .timedOut {
                throw EidError.Mdoc(reason: "notification not sent")
            }
        }
    }

    public func read(characteristic: MdocCharacteristic) throws -> Data {
        throw EidError.Mdoc(reason: "the GATT server does not read")
    }

    public func disconnect() {
        // A peripheral cannot drop a central; ending the service makes the reader leave.
        queue.async {
            self.manager.stopAdvertising()
            self.manager.removeAllServices()
        }
    }
}

/// The GATT client (`CBCentralManager`): the holder in mdoc central client mode
/// (`MdocCentralClient(presentation:)`: scans for `centralClientUuid()`, reads Ident, writes
/// State), or the reader in peripheral server mode (`MdocCentralClient(reader:)`).
public final class MdocCentralClient: NSObject, CBCentralManagerDelegate, CBPeripheralDelegate, MdocGattLink, @unchecked Sendable {
    private let mode: MdocBleMode
    private let serviceUuid: CBUUID
    private let session: MdocBleSession
    private let queue = DispatchQueue(label: "vn.eid.mdoc.central")
    private let worker = DispatchQueue(label: "vn.eid.mdoc.central.session")
    private var manager: CBCentralManager!
    private var peripheral: CBPeripheral?
    private var characteristics: [MdocCharacteristic: CBCharacteristic] = [:]
    private var identRead: ((Data?) -> Void)?

    public init(serviceUuid: String, mode: MdocBleMode, session: MdocBleSession) {
        self.mode = mode
        self.serviceUuid = CBUUID(string: serviceUuid)
        self.session = session
        super.init()
        manager = CBCentralManager(delegate: self, queue: queue)
    }

    public convenience init(presentation: MdocBlePresentation) throws {
        guard let u = presentation.centralClientUuid() else {
            throw EidError.InvalidInput(reason: "central client mode not offered")
        }
        self.init(serviceUuid: u, mode: .centralClient, session: MdocHolderBleSession(presentation))
    }

    public convenience init(reader: MdocBleReader) throws {
        guard let u = reader.peripheralServerUuid() else {
            throw EidError.InvalidInput(reason: "peripheral server mode not offered")
        }
        self.init(serviceUuid: u, mode: .peripheralServer, session: MdocReaderBleSession(reader))
    }

    public func centralManagerDidUpdateState(_ central: CBCentralManager) {
        if central.state == .poweredOn {
            central.scanForPeripherals(withServices: [serviceUuid], options: nil)
        }
    }

    public func centralManager(_ central: CBCentralManager, didDiscover peripheral: CBPeripheral, advertisementData: [String: Any], rssi RSSI: NSNumber) {
        guard self.peripheral == nil else { return }
        central.stopScan()
        self.peripheral = peripheral
        peripheral.delegate = self
        central.connect(peripheral, options: nil)
    }

    public func centralManager(_ central: CBCentralManager, didConnect peripheral: CBPeripheral) {
        peripheral.discoverServices([serviceUuid])
    }

    public func centralManager(_ central: CBCentralManager, didDisconnectPeripheral peripheral: CBPeripheral, error: Error?) {
        worker.async { self.session.disconnected() }
    }

    public func peripheral(_ peripheral: CBPeripheral, didDiscoverServices error: Error?) {
        guard let service = peripheral.services?.first(where: { $0.uuid == serviceUuid }) else {
            manager.cancelPeripheralConnection(peripheral)
            return
        }
        peripheral.discoverCharacteristics(nil, for: service)
    }

    public func peripheral(_ peripheral: CBPeripheral, didDiscoverCharacteristicsFor service: CBService, error: Error?) {
        for ch in service.characteristics ?? [] {
            if let c = characteristic(mode, ch.uuid) { characteristics[c] = ch }
        }
        guard let state = characteristics[.state], let s2c = characteristics[.server2Client] else {
            manager.cancelPeripheralConnection(peripheral)
            return
        }
        peripheral.setNotifyValue(true, for: state)
        peripheral.setNotifyValue(true, for: s2c)
    }

    public func peripheral(_ peripheral: CBPeripheral, didUpdateNotificationStateFor characteristic: CBCharacteristic, error: Error?) {
        let on = [MdocCharacteristic.state, .server2Client].allSatisfy { characteristics[$0]?.isNotifying == true }
        // Both subscriptions are on: the session starts (off this queue: it may read Ident).
        if on, identRead == nil { worker.async { try? self.session.connected(link: self, mode: self.mode) } }
    }

    public func peripheral(_ peripheral: CBPeripheral, didUpdateValueFor characteristic: CBCharacteristic, error: Error?) {
        guard let c = MdocCentralClient.characteristicOf(mode, characteristic.uuid) else { return }
        if c == .ident, let done = identRead {
            identRead = nil
            done(error == nil ? characteristic.value : nil)
            return
        }
        guard let v = characteristic.value else { return }
        worker.async { self.session.value(characteristic: c, value: v) }
    }

    static func characteristicOf(_ mode: MdocBleMode, _ id: CBUUID) -> MdocCharacteristic? { characteristic(mode, id) }

    // MdocGattLink: called by the library on `worker`.
    public func mtu() -> UInt32 {
        UInt32((peripheral?.maximumWriteValueLength(for: .withoutResponse) ?? 20) + 3)
    }

    public func send(characteristic: MdocCharacteristic, value: Data) throws {
        guard let p = peripheral, let ch = characteristics[characteristic] else {
            throw EidError.Mdoc(reason: "not connected")
        }
        let deadline = Date().addingTimeInterval(5)
        while !queue.sync(execute: { p.canSendWriteWithoutResponse }) {
            if Date() > deadline { throw EidError.Mdoc(reason: "write not possible") }
            Thread.sleep(forTimeInterval: 0.005)
        }
        queue.sync { p.writeValue(value, for: ch, type: .withoutResponse) }
    }

    public func read(characteristic: MdocCharacteristic) throws -> Data {
        guard let p = peripheral, let ch = characteristics[characteristic] else {
            throw EidError.Mdoc(reason: "the server has no such characteristic")
        }
        let done = DispatchSemaphore(value: 0)
        var got: Data?
        queue.sync {
            identRead = { got = $0; done.signal() }
            p.readValue(for: ch)
        }
        guard done.wait(timeout: .now() + 5) == .success, let value = got else {
            throw EidError.Mdoc(reason: "read failed")
        }
        return value
    }

    public func disconnect() {
        queue.async { if let p = self.peripheral { self.manager.cancelPeripheralConnection(p) } }
    }
}
#endif
