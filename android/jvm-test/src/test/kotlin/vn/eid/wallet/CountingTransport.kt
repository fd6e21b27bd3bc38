package vn.eid.wallet

import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger

/** Wraps the app's transport and records what went through it (no request content). */
class CountingTransport(private val inner: HttpTransport) : HttpTransport {
    val exchanges = AtomicInteger()
    val failures = CopyOnWriteArrayList<HttpTransportException>()

    override fun exchange(request: HttpRequest): HttpResponse {
        exchanges.incrementAndGet()
        try {
            return inner.exchange(request)
        } catch (e: HttpTransportException) {
            failures.add(e)
            throw e
        }
    }
}
