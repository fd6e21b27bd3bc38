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
 * or 0x00 (last); 0x02 on State ends the session. MTU: 185, as `eid` uses over TCP. The
 * reader (GATT client) writes Client2Server and hears Server2Client; the holder (GATT server,
 * listening) the other way round.
 *
 * Everything that goes through it (SessionEstablishment, SessionData) is made and read by
 * Multipaz.
 */
class TcpGattLink private constructor(private val socket: Socket, private val asHolder: Boolean) : AutoCloseable {
    private val sendOn = if (asHolder) SERVER2CLIENT else CLIENT2SERVER
    private val receiveOn = if (asHolder) CLIENT2SERVER else SERVER2CLIENT
    private val input = DataInputStream(socket.getInputStream())
    private val output = socket.getOutputStream()

    /** What the peer sent: a whole message, State start (to the holder) or State end. */
    sealed interface Received {
        class Message(val bytes: ByteArray) : Received
        data object Started : Received
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

    /** One message, chunked: on Client2Server from the reader, on Server2Client from the holder. */
    fun send(message: ByteArray) {
        val size = MTU - 4
        var at = 0
        do {
            val n = minOf(size, message.size - at)
            val last = at + n >= message.size
            frame(sendOn, byteArrayOf(if (last) 0x00 else 0x01) + message.copyOfRange(at, at + n))
            at += n
        } while (!last)
    }

    /** The peer's next message (reassembled from its chunks), or a State value. */
    fun receive(): Received {
        val message = java.io.ByteArrayOutputStream()
        while (true) {
            val characteristic = try {
                input.readUnsignedByte()
            } catch (_: EOFException) {
                return Received.Ended
            }
            val value = ByteArray(input.readUnsignedShort())
            check(value.size + 3 <= MTU) { "peer sent a value longer than MTU - 3" }
            input.readFully(value)
            when (characteristic) {
                STATE -> when {
                    value.contentEquals(byteArrayOf(0x02)) -> return Received.Ended
                    // Only the GATT client starts, and only before a message.
                    asHolder && message.size() == 0 && value.contentEquals(byteArrayOf(0x01)) -> return Received.Started
                    else -> error("unexpected State value")
                }
                receiveOn -> {
                    check(value.isNotEmpty() && (value[0] == 0x00.toByte() || value[0] == 0x01.toByte())) {
                        "malformed chunk"
                    }
                    message.write(value, 1, value.size - 1)
                    if (value[0] == 0x00.toByte()) return Received.Message(message.toByteArray())
                }
                else -> error("peer sent on characteristic $characteristic")
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
            return TcpGattLink(socket, asHolder = false)
        }

        /** The holder's side of a connection its listener accepted. */
        fun accepted(socket: Socket, timeoutMs: Int = 30_000): TcpGattLink {
            socket.soTimeout = timeoutMs
            socket.tcpNoDelay = true
            return TcpGattLink(socket, asHolder = true)
        }
    }
}
