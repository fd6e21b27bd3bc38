package vn.eid.wallet

/**
 * One side of an ISO 18013-5 BLE session as the GATT glue drives it: the holder's
 * [MdocBlePresentation] or the reader's [MdocBleReader]. The glue only moves bytes: values that
 * arrive go to [onValue], the link's end to [onDisconnected]; chunking, the State protocol and
 * the Ident check are the library's.
 */
interface MdocBleSession {
    fun connected(link: MdocGattLink, mode: MdocBleMode)
    fun onValue(characteristic: MdocCharacteristic, value: ByteArray)
    fun onDisconnected()

    companion object {
        fun of(presentation: MdocBlePresentation): MdocBleSession = object : MdocBleSession {
            override fun connected(link: MdocGattLink, mode: MdocBleMode) = presentation.connected(link, mode)
            override fun onValue(characteristic: MdocCharacteristic, value: ByteArray) {
                presentation.onValue(characteristic, value)
            }
            override fun onDisconnected() {
                presentation.onDisconnected()
            }
        }

        fun of(reader: MdocBleReader): MdocBleSession = object : MdocBleSession {
            override fun connected(link: MdocGattLink, mode: MdocBleMode) = reader.connected(link, mode)
            override fun onValue(characteristic: MdocCharacteristic, value: ByteArray) {
                reader.onValue(characteristic, value)
            }
            override fun onDisconnected() {
                reader.onDisconnected()
            }
        }
    }
}

/** The 18013-5 characteristic a UUID names in `mode`, if any. */
internal fun characteristicOf(mode: MdocBleMode, uuid: java.util.UUID): MdocCharacteristic? =
    MdocCharacteristic.entries.firstOrNull { c ->
        mdocCharacteristicUuid(mode, c)?.let { java.util.UUID.fromString(it) } == uuid
    }

/** The Client Characteristic Configuration descriptor (notifications on/off). */
internal val CCCD: java.util.UUID = java.util.UUID.fromString("00002902-0000-1000-8000-00805f9b34fb")
