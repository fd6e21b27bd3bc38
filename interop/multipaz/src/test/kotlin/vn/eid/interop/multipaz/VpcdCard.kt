package vn.eid.interop.multipaz

import java.io.DataInputStream
import java.io.DataOutputStream
import java.io.EOFException
import java.net.Socket
import java.net.SocketException

/**
 * A card in vsmartcard's virtual reader (vpcd), written here from vpcd's protocol description:
 * the card side connects to vpcd's TCP port; every message either way is a 2-byte big-endian
 * length and that many bytes. From vpcd, one byte is a control (0 power off, 1 power on, 2 reset,
 * 4 "send your ATR", answered with [atr]); more bytes are a command APDU, answered with the
 * response APDU [process] gives. pcscd then shows the card in the reader as any reader app sees
 * a phone held to a desk reader.
 */
class VpcdCard(address: String, private val atr: ByteArray, private val process: (ByteArray) -> ByteArray) : AutoCloseable {
    private val socket: Socket = address.split(":").let { (host, port) -> Socket(host, port.toInt()) }
    private val input = DataInputStream(socket.getInputStream())
    private val output = DataOutputStream(socket.getOutputStream())

    /** Answers vpcd until it or [close] ends the connection. */
    fun serve() {
        try {
            while (true) {
                val message = ByteArray(input.readUnsignedShort()).also { input.readFully(it) }
                when {
                    message.size == 1 && message[0] == CTRL_ATR -> send(atr)
                    message.size == 1 -> {} // power off, power on, reset: nothing to answer
                    else -> send(process(message))
                }
            }
        } catch (_: EOFException) {
        } catch (_: SocketException) {
        }
    }

    private fun send(bytes: ByteArray) {
        output.writeShort(bytes.size)
        output.write(bytes)
        output.flush()
    }

    /** Takes the card out of the reader. */
    override fun close() = socket.close()

    companion object {
        private const val CTRL_ATR: Byte = 4

        /**
         * An ISO/IEC 14443-4 card's ATR as PC/SC readers build it (T=1), whose historical bytes
         * carry the card capabilities (ISO/IEC 7816-4 §8.1.1.2.7): command chaining, and extended
         * Lc/Le when [extendedLength].
         */
        fun atr(extendedLength: Boolean): ByteArray {
            val historical = byteArrayOf(0x80.toByte(), 0x73, 0x80.toByte(), 0x21, if (extendedLength) 0xC0.toByte() else 0x80.toByte())
            val body = byteArrayOf((0x80 or historical.size).toByte(), 0x80.toByte(), 0x01) + historical
            val tck = body.fold(0) { acc, b -> acc xor (b.toInt() and 0xFF) }.toByte()
            return byteArrayOf(0x3B) + body + tck
        }
    }
}
