package vn.eid.interop.multipaz

import java.io.DataInputStream
import java.io.EOFException
import java.net.InetSocketAddress
import java.net.Socket

/**
 * The one non-standard part of these tests: `eid`'s TCP stand-in for BLE (core/src/mdoc/
 * transport/tcp.rs), written here from its description, not from our code. Each GATT value
 * travels as one frame `characteristic (1 byte) || length (2 bytes, big-endian) || value`, the
 * characteristic being the last byte of its UUID's first field in mdoc peripheral server mode
 * (State 0x01, Client2Server 0x02, Server2Client 0x03). Over it runs ISO/IEC 18013-5
 * §8.3.3.1.1's BLE protocol: the GATT client (the reader here) writes 0x01 to State to start;
 * every message goes as chunks of at most MTU - 4 bytes, each value led by 0x01 (more follows)
 * or 0x00 (last); 0x02 on State ends the session. MTU: 185, as `eid` uses over TCP.
 *
 * Everything that goes through it (SessionEstablishment, SessionData) is made and read by
 * Multipaz.
 */
class TcpGattLink private constructor(private val socket: Socket) : AutoCloseable {
    private val input = DataInputStream(socket.getInputStream())
    private val output = socket.getOutputStream()

    /** What the holder sent: a whole message, or State end. */
    sealed interface Received {
        class Message(val bytes: ByteArray) : Received
        data object Ended : Received
    }

    private fun frame(characteristic: Int, value: ByteArray) {
        require(value.size + 3 <= MTU) { "GATT value longer than MTU - 3" }
        output.write(byteArrayOf(characteristic.toByte(), (value.size shr 8).toByte(), value.size.toByte()) + value)
        output.flush()
    }

    /** State start (the reader is the GATT client in peripheral server mode). */
    fun start() = frame(STATE, byteArrayOf(0x01))

    /** State end, then the connection closes. */
    fun end() {
        runCatching { frame(STATE, byteArrayOf(0x02)) }
        close()
    }

    /** One message on Client2Server, chunked. */
    fun send(message: ByteArray) {
        val size = MTU - 4
        var at = 0
        do {
            val n = minOf(size, message.size - at)
            val last = at + n >= message.size
            frame(CLIENT2SERVER, byteArrayOf(if (last) 0x00 else 0x01) + message.copyOfRange(at, at + n))
            at += n
        } while (!last)
    }

    /** The holder's next message (reassembled from Server2Client chunks) or its State end. */
    fun receive(): Received {
        val message = java.io.ByteArrayOutputStream()
        while (true) {
            val characteristic = try {
                input.readUnsignedByte()
            } catch (_: EOFException) {
                return Received.Ended
            }
            val value = ByteArray(input.readUnsignedShort())
            check(value.size + 3 <= MTU) { "holder sent a value longer than MTU - 3" }
            input.readFully(value)
            when (characteristic) {
                STATE -> {
                    check(value.contentEquals(byteArrayOf(0x02))) { "unexpected State value from the holder" }
                    return Received.Ended
                }
                SERVER2CLIENT -> {
                    check(value.isNotEmpty() && (value[0] == 0x00.toByte() || value[0] == 0x01.toByte())) {
                        "malformed chunk"
                    }
                    message.write(value, 1, value.size - 1)
                    if (value[0] == 0x00.toByte()) return Received.Message(message.toByteArray())
                }
                else -> error("holder sent on characteristic $characteristic")
            }
        }
    }

    override fun close() = socket.close()

    companion object {
        const val MTU = 185
        private const val STATE = 0x01
        private const val CLIENT2SERVER = 0x02
        private const val SERVER2CLIENT = 0x03

        fun connect(address: String, timeoutMs: Int = 30_000): TcpGattLink {
            val (host, port) = address.substringBeforeLast(':') to address.substringAfterLast(':').toInt()
            val socket = Socket()
            socket.connect(InetSocketAddress(host, port), timeoutMs)
            socket.soTimeout = timeoutMs
            socket.tcpNoDelay = true
            return TcpGattLink(socket)
        }
    }
}
