package vn.eid.interop.multipaz

import kotlinx.io.bytestring.ByteString
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.multipaz.crypto.EcPrivateKey
import org.multipaz.crypto.X509Cert
import java.io.BufferedReader
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.util.Base64
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/**
 * Our side of the socket, driven only through the `eid` binary: `eid serve --dev` (it issues
 * real MSOs at a wallet's sync under its IACA), a wallet activated and synced with the CLI, a
 * reader key and certificate from the backend's reader CA (`eid mdoc reader-cert`, admin
 * token), the IACA as a verifier takes it (the backend's published trust list), and holders
 * started with `eid wallet mdoc present --tcp`.
 */
class EidFixture : AutoCloseable {
    val eid: String = System.getProperty("eid.cli") ?: error("-Deid.cli not set")
    val dir: File = Files.createTempDirectory("eid-multipaz-").toFile()
    private val children = mutableListOf<Process>()
    val backend: String
    val iaca: X509Cert
    val iacaPem: File = File(dir, "iaca.pem")
    val readerCert: X509Cert
    val readerKey: EcPrivateKey
    val readerKeyPem: File = File(dir, "reader-key.pem")
    val readerCertPem: File = File(dir, "reader-cert.pem")
    val citizen: JsonObject

    init {
        check(File(eid).canExecute()) { "no eid binary at $eid (cargo build --workspace --all-features)" }
        backend = serve()
        citizen = Json.parseToJsonElement(run("fixtures", "citizens", "--json")).jsonArray[2].jsonObject
        run(*wallet(), "activate", "--id", str(citizen, "id"), "--phone", str(citizen, "phone"), "--sim")
        run(*wallet(), "sync")
        run("mdoc", "reader-cert", "--backend", backend, "--admin-token", ADMIN_TOKEN,
            "--name", "Multipaz interop reader", "--key-out", readerKeyPem.path, "--cert-out", readerCertPem.path)
        readerCert = X509Cert.fromPem(readerCertPem.readText())
        readerKey = EcPrivateKey.fromPem(readerKeyPem.readText(), readerCert.ecPublicKey)
        val list = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create("$backend/v1/trust-list")).build(),
            HttpResponse.BodyHandlers.ofString(),
        )
        check(list.statusCode() == 200) { "trust list: HTTP ${list.statusCode()}" }
        val der = Base64.getUrlDecoder().decode(
            Json.parseToJsonElement(list.body()).jsonObject["iaca"]!!.jsonArray[0].jsonPrimitive.content,
        )
        iaca = X509Cert(ByteString(der))
        val b64 = Base64.getMimeEncoder(64, "\n".toByteArray()).encodeToString(der)
        iacaPem.writeText("-----BEGIN CERTIFICATE-----\n$b64\n-----END CERTIFICATE-----\n")
    }

    /** The `eid wallet` arguments of the wallet in [name] (the fixture's own: "wallet"). */
    fun wallet(name: String = "wallet"): Array<String> = arrayOf("wallet", "--data-dir", File(dir, name).path, "--backend", backend)

    private fun process(args: List<String>): ProcessBuilder {
        val pb = ProcessBuilder(listOf(eid) + args)
        val env = pb.environment()
        env.keys.filter { it.startsWith("EID_") }.forEach { env.remove(it) }
        env["EID_PASSCODE"] = PASSCODE
        return pb
    }

    /** Runs `eid ARGS` to its end; its standard output, or an error with its standard error. */
    fun run(vararg args: String): String = runAllowingFailure(*args).let { (code, out, err) ->
        check(code == 0) { "eid ${args.take(3).joinToString(" ")}: exit $code\n$err" }
        out
    }

    fun runAllowingFailure(vararg args: String): Triple<Int, String, String> =
        finish(Children.add(process(args.toList()).start()), "eid ${args.take(3).joinToString(" ")}", TIMEOUT_S)

    private fun serve(): String {
        val p = process(listOf("serve", "--dev", "--addr", "127.0.0.1:0", "--admin-token", ADMIN_TOKEN,
            "--db", "sqlite://${File(dir, "backend.db").path}"))
            .redirectError(File(dir, "serve.err"))
            .start()
        children += Children.add(p)
        val url = CompletableFuture<String>()
        // Read to the end (a full pipe would block the server), the URL taken on the way.
        background("eid serve stdout") {
            p.inputStream.bufferedReader().lineSequence().forEach { line ->
                Regex("^listening on (\\S+)$").find(line)?.let { url.complete(it.groupValues[1]) }
            }
            url.completeExceptionally(IllegalStateException("eid serve ended"))
        }
        return try {
            url.get(TIMEOUT_S, TimeUnit.SECONDS)
        } catch (e: Exception) {
            throw IllegalStateException("eid serve did not start: ${File(dir, "serve.err").readText()}", e)
        }
    }

    /** A waiting `eid wallet mdoc present --tcp`: its engagement URI and address. */
    class Holder(val process: Process, val uri: String, val address: String, private val stderr: StringBuffer) {
        /** The holder's exit code once it ended by itself. */
        fun exitCode(): Int {
            if (!process.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                process.destroyForcibly()
                throw AssertionError("the holder did not end: $stderr")
            }
            return process.exitValue()
        }

        fun stderr(): String = stderr.toString()
    }

    fun present(vararg extra: String): Holder {
        val p = process(listOf(*wallet(), "mdoc", "present", "--tcp", "127.0.0.1:0") + extra).start()
        children += Children.add(p)
        p.outputStream.close()
        val err = StringBuffer()
        val address = CompletableFuture<String>()
        val uri = CompletableFuture<String>()
        fun pump(r: BufferedReader, sink: StringBuffer?, regex: Regex, found: CompletableFuture<String>) =
            Thread {
                r.lineSequence().forEach { line ->
                    sink?.append(line)?.append('\n')
                    regex.find(line)?.let { found.complete(it.groupValues[1]) }
                }
            }.apply { isDaemon = true; start() }
        pump(p.inputStream.bufferedReader(), null, Regex("^(mdoc:\\S+)$"), uri)
        pump(p.errorStream.bufferedReader(), err, Regex("^listening on (\\S+)$"), address)
        return try {
            Holder(p, uri.get(TIMEOUT_S, TimeUnit.SECONDS), address.get(TIMEOUT_S, TimeUnit.SECONDS), err)
        } catch (e: Exception) {
            throw IllegalStateException("the holder did not engage: $err", e)
        }
    }

    /**
     * A waiting `eid wallet mdoc present --nfc-vpcd`: the wallet as a card in vpcd's first
     * virtual reader ([VPCD_READER] of pcscd, vpcd port 35963), the phone held to a desk reader.
     * Its [Holder.uri] is empty (the engagement is on the tag) and its address is vpcd's.
     */
    fun presentNfc(vararg extra: String): Holder {
        PcscNfcTag.waitUntilEmpty(VPCD_READER, TIMEOUT_S * 1000)
        val p = process(listOf(*wallet(), "mdoc", "present", "--nfc-vpcd", "--vpcd", VPCD_ADDR) + extra).start()
        children += Children.add(p)
        p.outputStream.close()
        val err = StringBuffer()
        val waiting = CompletableFuture<String>()
        Thread {
            p.errorStream.bufferedReader().lineSequence().forEach { line ->
                err.append(line).append('\n')
                if (line.contains("waiting for a reader")) waiting.complete(line)
            }
            waiting.completeExceptionally(IllegalStateException("the holder ended"))
        }.apply { isDaemon = true; start() }
        Thread { p.inputStream.bufferedReader().lineSequence().forEach { } }.apply { isDaemon = true; start() }
        return try {
            val line = waiting.get(TIMEOUT_S, TimeUnit.SECONDS)
            // With --tcp the handover names BLE first, the TCP link at this address standing in.
            val standIn = Regex("the TCP link at (\\S+) stands in").find(line)?.groupValues?.get(1)
            Holder(p, "", standIn ?: VPCD_ADDR, err)
        } catch (e: Exception) {
            throw IllegalStateException("the holder did not reach vpcd: $err", e)
        }
    }

    /**
     * What our own reader (`eid mdoc read`) sees of the same wallet: the values the Multipaz
     * reader must find too.
     */
    fun ourReading(doctype: String, elements: List<String>): JsonObject {
        val holder = present()
        val out = run("mdoc", "read", "--engagement", holder.uri, "--tcp", holder.address,
            "--doctype", doctype, "--elements", elements.joinToString(","), "--trust", iacaPem.path,
            "--reader-key", readerKeyPem.path, "--reader-cert", readerCertPem.path, "--json")
        check(holder.exitCode() == 0) { "holder: ${holder.stderr()}" }
        val verdict = Json.parseToJsonElement(out).jsonObject
        check(verdict["valid"]?.jsonPrimitive?.content == "true") { "our reader: $out" }
        return verdict["elements"]!!.jsonObject
    }

    override fun close() {
        children.forEach { it.destroy() }
        children.forEach { it.waitFor(5, TimeUnit.SECONDS) }
        dir.deleteRecursively()
    }

    companion object {
        const val PASSCODE = "112233"
        const val ADMIN_TOKEN = "multipaz-interop-admin-token-0123456789"
        const val TIMEOUT_S = 60L
        /** vpcd's first virtual reader, as scripts/pcsc-env.sh starts pcscd. */
        const val VPCD_ADDR = "127.0.0.1:35963"
        const val VPCD_READER = "Virtual PCD 00 00"

        fun str(o: JsonObject, key: String): String = o[key]!!.jsonPrimitive.content
    }
}
