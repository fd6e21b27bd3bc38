package vn.eid.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import vn.eid.wallet.testing.SimulatedCard
import vn.eid.wallet.testing.devSmsCode
import vn.eid.wallet.testing.simCitizens
import java.net.ServerSocket
import java.net.URI
import java.nio.file.Files
import java.nio.file.Path
import java.security.KeyPairGenerator
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import java.util.UUID
import java.util.concurrent.TimeUnit

/**
 * A relying party's OpenID4VP request through the Kotlin bindings (issue 16, docs/adr/0061): a
 * bank registered with `eid rp register` runs `eid rp serve`; the wallet shows its verified
 * identity, purpose and claims, declines once, refuses a wrong passcode, then answers with the
 * passcode and the bank's server sees the verified claims. One backend and one bank for the class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthorizeTest {
    private val cli = System.getProperty("eid.cli") ?: error("-Deid.cli is not set")
    private val adminToken = UUID.randomUUID().toString()
    private val dir: Path = Files.createTempDirectory("eid-authorize")
    private val servers = mutableListOf<Process>()
    private lateinit var backendUrl: String
    private lateinit var bankUrl: String
    private val http = CountingTransport(HttpUrlConnectionTransport())

    private fun start(vararg args: String): String {
        val p = ProcessBuilder(cli, *args)
            .apply { environment().keys.removeIf { it.startsWith("EID_") } }
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        servers.add(p)
        val line = p.inputStream.bufferedReader().lineSequence()
            .firstOrNull { it.startsWith("listening on ") } ?: error("eid ${args[0]} exited")
        return line.removePrefix("listening on ").trim()
    }

    private fun eid(vararg args: String): String {
        val p = ProcessBuilder(cli, *args)
            .apply { environment().keys.removeIf { it.startsWith("EID_") } }
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()
        val out = p.inputStream.bufferedReader().readText()
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "eid ${args.joinToString(" ")}")
        return out
    }

    private fun pem(label: String, der: ByteArray) =
        "-----BEGIN $label-----\n" + Base64.getMimeEncoder(64, "\n".toByteArray()).encodeToString(der) +
            "\n-----END $label-----\n"

    @BeforeAll
    fun startBackendAndBank() {
        backendUrl = start("serve", "--dev", "--addr", "127.0.0.1:0", "--db", "sqlite://${dir.resolve("backend.db")}",
            "--log", "warn", "--admin-token", adminToken)
        val port = ServerSocket(0).use { it.localPort }
        val keys = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        val key = dir.resolve("bank.key.pem").also { Files.writeString(it, pem("PRIVATE KEY", keys.private.encoded)) }
        val pub = dir.resolve("bank.pub.pem").also { Files.writeString(it, pem("PUBLIC KEY", keys.public.encoded)) }
        val cert = dir.resolve("bank.cert.pem")
        eid("rp", "--backend", backendUrl, "--admin-token", adminToken, "register", "--name", BANK,
            "--registration-number", "0106666666", "--dns", BANK_DNS, "--response-uri", "http://127.0.0.1:$port/response",
            "--purpose", "ekyc", "--key-pem", pub.toString(), "--out-cert", cert.toString())
        bankUrl = start("rp", "--backend", backendUrl, "serve", "--addr", "127.0.0.1:$port", "--key", key.toString(),
            "--cert", cert.toString())
        assertEquals("http://127.0.0.1:$port", bankUrl)
    }

    @AfterAll
    fun stop() {
        for (p in servers) {
            p.destroy()
            p.waitFor(10, TimeUnit.SECONDS)
        }
        dir.toFile().deleteRecursively()
    }

    /** A new session of the bank's page: (openid4vp URI, state). */
    private fun pageRequest(): Pair<String, String> {
        val page = URI("$bankUrl/").toURL().readText()
        fun attr(name: String) = Regex("$name=\"([^\"]*)\"").find(page)!!.groupValues[1].replace("&amp;", "&")
        return attr("data-openid4vp-uri") to attr("data-state")
    }

    private fun status(state: String) =
        Regex("\"status\":\"(\\w+)\"").find(URI("$bankUrl/result/$state").toURL().readText())!!.groupValues[1]

    @Test
    fun aBankIsShownDeclinedThenAnsweredWithThePasscode(): Unit = runBlocking {
        val citizen = simCitizens(8u)[7]
        val wallet = WalletHandle.open(WalletConfig(dir.resolve("wallet").toString(), backendUrl), SoftwareKeyStore(), http)
        wallet.setUp("123456")
        val pending = wallet.startActivation(citizen.idNumber, citizen.phone)
        val chip = readChip(SimLink(SimulatedCard(citizen.idNumber, null)),
            ChipAccessKey.Mrz(citizen.idNumber, citizen.dateOfBirth, citizen.dateOfExpiry),
            ChipReadOptions(false, pending.chipChallenge), null, null)
        wallet.completeActivation(pending, devSmsCode(backendUrl, citizen.phone)!!, chip, Passcode("123456"))
        wallet.sync(null, Passcode("123456"))

        var (uri, state) = pageRequest()
        var request = wallet.authorizeRequest(uri)
        val view = request.view()
        assertEquals(BANK, view.legalName)
        assertEquals("0106666666", view.registrationNumber)
        assertEquals("x509_san_dns:$BANK_DNS", view.clientId)
        assertEquals(listOf(BANK_DNS), view.certificateDnsNames)
        assertEquals("ekyc", view.purpose)
        assertFalse(view.viaHub)
        assertNull(view.onBehalfOf)
        assertEquals(EKYC_CLAIMS, view.claims.map { it.path })
        assertEquals("ID number", view.claims.last().labelEn)
        assertFalse(request.toString().contains(citizen.idNumber))

        // Declined: access_denied, nothing disclosed, the request spent.
        val declined = wallet.authorizeDecline(request)
        assertFalse(declined.disclosed)
        assertTrue(declined.claims.isEmpty())
        assertEquals("refused", status(state))
        assertTrue(request.isSpent())
        assertThrows<EidException.InvalidInput> { runBlocking { wallet.authorizeAnswer(request, Passcode("123456")) } }
        assertTrue(wallet.disclosureHistory().isEmpty())

        // A wrong passcode: nothing sent, the request still open.
        pageRequest().let { uri = it.first; state = it.second }
        request = wallet.authorizeRequest(uri)
        assertThrows<EidException.WrongPasscode> { runBlocking { wallet.authorizeAnswer(request, Passcode("000000")) } }
        assertFalse(request.isSpent())
        assertEquals("waiting", status(state))
        assertTrue(wallet.disclosureHistory().isEmpty())

        val sent = wallet.authorizeAnswer(request, Passcode("123456"))
        assertTrue(sent.disclosed)
        assertEquals(EKYC_CLAIMS, sent.claims)
        assertEquals("$bankUrl/", sent.redirectUri)
        val result = URI("$bankUrl/result/$state").toURL().readText()
        assertEquals("verified", status(state), result)
        assertTrue(result.contains("\"personal_administrative_number\":\"${citizen.idNumber}\""), "the bank verified the ID number")

        val history = wallet.disclosureHistory()
        assertEquals(1, history.size)
        assertEquals(DisclosureSource.WALLET, history[0].source)
        assertNull(history[0].via)
        assertEquals("ekyc", history[0].purpose)
        assertEquals(EKYC_CLAIMS, history[0].claims)
        assertTrue(history[0].relyingParty.contains(BANK))
        assertTrue(http.failures.isEmpty())
    }

    private companion object {
        const val BANK = "Ngan hang Kotlin"
        const val BANK_DNS = "ktbank.example.vn"
        val EKYC_CLAIMS = listOf("family_name", "given_name", "birthdate", "personal_administrative_number")
    }
}
