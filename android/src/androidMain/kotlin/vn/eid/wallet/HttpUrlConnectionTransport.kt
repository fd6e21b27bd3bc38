package vn.eid.wallet

import java.io.IOException
import java.net.HttpURLConnection
import java.net.URL

/**
 * The wallet's HTTP exchanges over `java.net.HttpURLConnection`: the platform's trust store,
 * Network Security Config (certificate pinning, cleartext policy), proxies and VPN apply as to
 * any other connection of the app. No dependency beyond the JDK/Android SDK; JVM-only APIs, so
 * the host-JVM tests (android/jvm-test) compile and use this very file. Apps on OkHttp can
 * implement [HttpTransport] over it the same way.
 *
 * The library calls [exchange] on its own worker threads, never on the main thread.
 *
 * Failures before the request could leave (name not resolved, connection refused, connect
 * timeout, TLS handshake) are [HttpTransportException.NotSent]: the library always retries them.
 * Anything after (a read timeout, a cut connection) is [HttpTransportException.MaybeSent]: retried
 * only for calls that are safe to repeat. HTTP error statuses are answers, returned with their
 * body. Reasons carry the exception's class only: messages can hold the URL.
 */
class HttpUrlConnectionTransport : HttpTransport {
    override fun exchange(request: HttpRequest): HttpResponse {
        val conn = try {
            URL(request.url).openConnection() as HttpURLConnection
        } catch (e: IOException) {
            throw HttpTransportException.NotSent(e.javaClass.simpleName)
        } catch (e: IllegalArgumentException) {
            throw HttpTransportException.NotSent("malformed URL")
        }
        var answered = false
        try {
            val timeout = request.timeoutMs.coerceAtMost(Int.MAX_VALUE.toULong()).toInt()
            conn.connectTimeout = timeout
            conn.readTimeout = timeout
            conn.useCaches = false
            conn.requestMethod = request.method
            request.headers.forEach { (name, value) -> conn.setRequestProperty(name, value) }
            val body = request.body
            if (body != null) {
                conn.doOutput = true
                // Streaming mode also stops HttpURLConnection from silently sending a POST a
                // second time on a dropped keep-alive connection: the library decides retries.
                conn.setFixedLengthStreamingMode(body.size)
            }
            try {
                // TCP and TLS only: the request line and headers are written after it.
                conn.connect()
            } catch (e: IOException) {
                throw HttpTransportException.NotSent(e.javaClass.simpleName)
            }
            val response = try {
                if (body != null) conn.outputStream.use { it.write(body) }
                val status = conn.responseCode
                val stream = if (status >= 400) conn.errorStream else conn.inputStream
                val bytes = stream?.use { it.readBytes() } ?: ByteArray(0)
                val headers = conn.headerFields.entries
                    .mapNotNull { (name, values) -> name?.let { n -> values.firstOrNull()?.let { n.lowercase() to it } } }
                    .toMap()
                HttpResponse(status.toUShort(), headers, bytes)
            } catch (e: IOException) {
                throw HttpTransportException.MaybeSent(e.javaClass.simpleName)
            }
            answered = true
            return response
        } finally {
            // A connection whose answer was read whole goes back to the keep-alive pool.
            if (!answered) conn.disconnect()
        }
    }
}
