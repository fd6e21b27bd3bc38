package vn.eid.interop.multipaz

import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/**
 * Runs [block] on a thread of its own (a daemon): not on the common pool, which has one
 * thread on a 2-core machine, so a holder blocked in accept() would starve everything else.
 */
fun <T> background(name: String, block: () -> T): CompletableFuture<T> {
    val result = CompletableFuture<T>()
    Thread({
        try {
            result.complete(block())
        } catch (e: Throwable) {
            result.completeExceptionally(e)
        }
    }, name).apply { isDaemon = true }.start()
    return result
}

/** Exit code, standard output and standard error of [process] run to its end (killed after [timeoutS]). */
fun finish(process: Process, what: String, timeoutS: Long = 60): Triple<Int, String, String> {
    process.outputStream.close()
    val out = background("$what stdout") { process.inputStream.bufferedReader().readText() }
    val err = background("$what stderr") { process.errorStream.bufferedReader().readText() }
    if (!process.waitFor(timeoutS, TimeUnit.SECONDS)) {
        process.destroyForcibly()
        throw AssertionError("$what did not end within $timeoutS s")
    }
    return Triple(process.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS))
}

/** Child processes are stopped when the test JVM ends, however it ends. */
object Children {
    private val all = java.util.Collections.synchronizedList(mutableListOf<Process>())

    init {
        Runtime.getRuntime().addShutdownHook(Thread { all.toList().forEach { it.destroyForcibly() } })
    }

    fun add(p: Process): Process = p.also { all += it }
}
