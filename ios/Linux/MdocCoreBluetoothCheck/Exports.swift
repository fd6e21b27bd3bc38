// Linux only: MdocCoreBluetooth.swift (linked here) type-checked against the CoreBluetooth stub
// (../CoreBluetoothStub) in a module of its own; the generated API it calls comes from EidWallet.
@_exported import EidWallet
