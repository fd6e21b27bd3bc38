// Linux only: a stub of the CoreBluetooth API that Sources/EidWallet/MdocCoreBluetooth.swift
// uses, written from Apple's documented Swift signatures, so that the glue is type-checked on
// Linux (target MdocCoreBluetoothCheck, which defines CORE_BLUETOOTH_STUB so that the glue
// imports this module; scripts/swift.sh). Nothing here runs or is linked into
// EidWallet. It checks our Swift and our use of the generated API (MdocGattLink,
// MdocBlePresentation, MdocBleReader, ...), and our CoreBluetooth calls only as far as this stub
// is faithful: Apple's delegate methods are optional Objective-C requirements, here plain
// protocols with the one required method each. A Mac build is the real check.
import Foundation

public enum CBManagerState: Int {
    case unknown, resetting, unsupported, unauthorized, poweredOff, poweredOn
}

public class CBManager: NSObject {
    public var state: CBManagerState { .unknown }
}

public class CBUUID: NSObject {
    public let uuidString: String
    public init(string theString: String) { uuidString = theString }
}

public class CBAttribute: NSObject {
    public var uuid: CBUUID { CBUUID(string: "") }
}

public struct CBCharacteristicProperties: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let read = CBCharacteristicProperties(rawValue: 0x02)
    public static let writeWithoutResponse = CBCharacteristicProperties(rawValue: 0x04)
    public static let write = CBCharacteristicProperties(rawValue: 0x08)
    public static let notify = CBCharacteristicProperties(rawValue: 0x10)
}

public struct CBAttributePermissions: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let readable = CBAttributePermissions(rawValue: 0x01)
    public static let writeable = CBAttributePermissions(rawValue: 0x02)
}

public enum CBCharacteristicWriteType: Int {
    case withResponse, withoutResponse
}

public let CBAdvertisementDataServiceUUIDsKey: String = "kCBAdvDataServiceUUIDs"

public class CBCharacteristic: CBAttribute {
    public var service: CBService? { nil }
    public var properties: CBCharacteristicProperties { [] }
    public var value: Data? { nil }
    public var isNotifying: Bool { false }
}

public class CBMutableCharacteristic: CBCharacteristic {
    public init(type UUID: CBUUID, properties: CBCharacteristicProperties, value: Data?, permissions: CBAttributePermissions) {}
}

public class CBService: CBAttribute {
    public var isPrimary: Bool { true }
    public var characteristics: [CBCharacteristic]? { nil }
}

public class CBMutableService: CBService {
    public init(type UUID: CBUUID, primary isPrimary: Bool) {}
    private var _characteristics: [CBCharacteristic]?
    public override var characteristics: [CBCharacteristic]? {
        get { _characteristics }
        set { _characteristics = newValue }
    }
}

public class CBPeer: NSObject {
    public var identifier: UUID { UUID() }
}

public class CBCentral: CBPeer {
    public var maximumUpdateValueLength: Int { 20 }
}

public class CBATTRequest: NSObject {
    public var central: CBCentral { CBCentral() }
    public var characteristic: CBCharacteristic { CBCharacteristic() }
    public var offset: Int { 0 }
    public var value: Data?
}

public protocol CBPeripheralManagerDelegate: AnyObject {
    func peripheralManagerDidUpdateState(_ peripheral: CBPeripheralManager)
}

public class CBPeripheralManager: CBManager {
    public weak var delegate: CBPeripheralManagerDelegate?
    public init(delegate: CBPeripheralManagerDelegate?, queue: DispatchQueue?) {}
    public func add(_ service: CBMutableService) {}
    public func removeAllServices() {}
    public func startAdvertising(_ advertisementData: [String: Any]?) {}
    public func stopAdvertising() {}
    public func updateValue(_ value: Data, for characteristic: CBMutableCharacteristic, onSubscribedCentrals centrals: [CBCentral]?) -> Bool { false }
}

public protocol CBCentralManagerDelegate: AnyObject {
    func centralManagerDidUpdateState(_ central: CBCentralManager)
}

public class CBCentralManager: CBManager {
    public weak var delegate: CBCentralManagerDelegate?
    public init(delegate: CBCentralManagerDelegate?, queue: DispatchQueue?) {}
    public func scanForPeripherals(withServices serviceUUIDs: [CBUUID]?, options: [String: Any]? = nil) {}
    public func stopScan() {}
    public func connect(_ peripheral: CBPeripheral, options: [String: Any]? = nil) {}
    public func cancelPeripheralConnection(_ peripheral: CBPeripheral) {}
}

public protocol CBPeripheralDelegate: AnyObject {}

public class CBPeripheral: CBPeer {
    public weak var delegate: CBPeripheralDelegate?
    public var services: [CBService]? { nil }
    public var canSendWriteWithoutResponse: Bool { false }
    public func discoverServices(_ serviceUUIDs: [CBUUID]?) {}
    public func discoverCharacteristics(_ characteristicUUIDs: [CBUUID]?, for service: CBService) {}
    public func setNotifyValue(_ enabled: Bool, for characteristic: CBCharacteristic) {}
    public func readValue(for characteristic: CBCharacteristic) {}
    public func writeValue(_ data: Data, for characteristic: CBCharacteristic, type: CBCharacteristicWriteType) {}
    public func maximumWriteValueLength(for type: CBCharacteristicWriteType) -> Int { 20 }
}
