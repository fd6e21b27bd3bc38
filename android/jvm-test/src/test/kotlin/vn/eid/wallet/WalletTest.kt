package vn.eid.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import vn.eid.wallet.testing.SimulatedCard
import vn.eid.wallet.testing.devSmsCode
import vn.eid.wallet.testing.simCitizens
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest
import java.util.UUID
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit

/** The whole journey through the Kotlin bindings against `eid serve` started by the test. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalletTest {
    private lateinit var server: Process
    private lateinit var backendUrl: String
    private val adminToken = UUID.randomUUID().toString()
    private val serverDir: Path = Files.createTempDirectory("eid-backend")

    @BeforeAll
    fun startBackend() {
        val cli = System.getProperty("eid.cli") ?: error("-Deid.cli is not set")
        server = ProcessBuilder(cli, "serve", "--dev", "--addr", "127.0.0.1:0", "--db", "sqlite://${serverDir.resolve("backend.db")}", "--log", "warn")
            .apply { environment()["EID_ADMIN_TOKEN"] = adminToken }
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        // eid serve may print other lines (a development admin token) before its address.
        val line = server.inputStream.bufferedReader().lineSequence()
            .firstOrNull { it.startsWith("listening on ") } ?: error("eid serve exited")
        backendUrl = line.removePrefix("listening on ").trim()
        assertTrue(backendUrl.startsWith("http://127.0.0.1:"), line)
    }

    @AfterAll
    fun stopBackend() {
        server.destroy()
        server.waitFor(10, TimeUnit.SECONDS)
        serverDir.toFile().deleteRecursively()
    }

    /** The app's network stack: every backend call of these tests goes through it. */
    private val http = CountingTransport(HttpUrlConnectionTransport())

    private fun open(dir: Path, keys: KeyStore = SoftwareKeyStore()) =
        WalletHandle.open(WalletConfig(dir.toString(), backendUrl), keys, http)

    private fun mrzKey(c: vn.eid.wallet.testing.SimCitizen) =
        ChipAccessKey.Mrz(c.idNumber, c.dateOfBirth, c.dateOfExpiry)

    /** A wallet activated (level 2) for `citizen` against the test backend, and synced. */
    private suspend fun activated(dir: Path, citizen: vn.eid.wallet.testing.SimCitizen): WalletHandle {
        val wallet = open(dir)
        wallet.setUp("123456")
        val pending = wallet.startActivation(citizen.idNumber, citizen.phone)
        val link = SimLink(SimulatedCard(citizen.idNumber, null))
        val chip = readChip(link, mrzKey(citizen), ChipReadOptions(false, pending.chipChallenge), null, null)
        wallet.completeActivation(pending, devSmsCode(backendUrl, citizen.phone)!!, chip, Passcode("123456"))
        // With the passcode: presentation credentials need the citizen's consent (ADR 0017).
        wallet.sync(null, Passcode("123456"))
        return wallet
    }

    @Test
    fun activateSyncAndReadDocuments(@TempDir dir: Path) = runBlocking {
        val citizen = simCitizens(3u)[2]
        val wallet = open(dir)
        assertEquals(65, wallet.setUp("123456").size)
        assertEquals(AccountStatus.NotActivated, wallet.state())

        val pending = wallet.startActivation(citizen.idNumber, citizen.phone)
        val code = devSmsCode(backendUrl, citizen.phone)
        assertNotNull(code)

        val stages = CopyOnWriteArrayList<ChipStage>()
        val listener = object : ChipReadListener {
            override fun onProgress(progress: ChipProgress) {
                stages.add(progress.stage)
            }
        }
        val card = SimulatedCard(citizen.idNumber, 15uL)
        val link = SimLink(card)
        val chip = readChip(link, mrzKey(citizen), ChipReadOptions(false, pending.chipChallenge), listener, null)
        val summary = chip.summary()
        assertEquals(citizen.idNumber, summary.idNumber)
        assertEquals(ChipAuthStatus.VALID, summary.chipAuthentication)
        assertTrue(card.reconnects() > 0uL, "the link dropped and the read resumed")
        assertEquals(ChipStage.DONE, stages.last())

        val activation = wallet.completeActivation(pending, code!!, chip, Passcode("123456"))
        assertEquals(2.toUByte(), activation.level)
        assertEquals(AccountStatus.Active(2.toUByte()), wallet.state())
        assertEquals(activation.accountId, wallet.accountId())

        val steps = CopyOnWriteArrayList<SyncStep>()
        val report = wallet.sync(object : SyncListener {
            override fun onSync(step: SyncStep) {
                steps.add(step)
            }
        }, null)
        assertTrue(report.updated >= 4uL, "documents synced: $report")
        assertEquals(listOf(SyncStep.TRUST_LIST, SyncStep.STATUS_LIST, SyncStep.DOCUMENTS, SyncStep.APPLYING, SyncStep.DONE), steps)
        val docs = wallet.documents()
        // Kinds are machine names (docs/adr/0060): the built-in ones here.
        val builtIn = setOf(
            "identity", "driving_licence", "health_insurance", "health_record", "vehicle_registration",
            "vaccination", "judicial_record", "birth_certificate", "marriage_certificate",
            "social_insurance_book", "residence", "tax_info", "e_health_book",
        )
        assertEquals(builtIn, docs.map { it.kind }.toSet())
        assertTrue(docs.all { it.status == DocumentStatus.VALID })
        val identity = wallet.document(docs.first { it.kind == "identity" }.id)
        assertTrue(identity.fieldsJson.contains(citizen.idNumber))
        // Labelled fields in the kind's declaration order: what an app renders any kind from.
        val fields = wallet.documentFields(identity.info.id)
        assertEquals(listOf("id_number", "full_name", "birth_date", "sex"), fields.take(4).map { it.name })
        assertEquals("Số định danh cá nhân", fields.first().labelVi)
        assertEquals("\"${citizen.idNumber}\"", fields.first().valueJson)
        assertEquals("enum", fields[3].fieldType)
        assertTrue(kindDeclarationJson("identity")!!.contains("\"name\":\"identity\""))
        assertEquals(null, kindDeclarationJson("fishing_licence"))
        assertTrue(wallet.kindDeclarationJson("identity")!!.contains("\"label_vi\":\"Thẻ căn cước\""))
        assertEquals(null, wallet.syncStatus().lastError)
        assertEquals(emptyList<HttpTransportException>(), http.failures)
    }

    @Test
    fun wrongPasscodeSurfacesAttemptsLeftAndIsLoggedWithoutDigits(@TempDir dir: Path) {
        val lines = CopyOnWriteArrayList<String>()
        setLogForwarder(object : LogForwarder {
            override fun log(level: LogLevel, message: String) {
                lines.add("$level $message")
            }
        }, LogLevel.DEBUG)
        try {
            val wallet = open(dir)
            wallet.setUp("123456")
            wallet.lock()
            val wrong = assertThrows<EidException.WrongPasscode> { wallet.unlock("000000") }
            assertEquals(4u, wrong.attemptsLeft)
            assertTrue(!wallet.isUnlocked())
            wallet.unlock("123456")
            assertEquals(0uL, wallet.documentCount())
            assertTrue(lines.any { it.startsWith("WARN unlock: wrong passcode") }, lines.toString())
            assertTrue(lines.none { it.contains("000000") || it.contains("123456") }, lines.toString())
        } finally {
            setLogForwarder(null, LogLevel.ERROR)
        }
    }

    @Test
    fun wrongAccessKeyIsChipAccessDenied() {
        val citizen = simCitizens(1u)[0]
        val link = SimLink(SimulatedCard(citizen.idNumber, null))
        val wrongKey = ChipAccessKey.Mrz(citizen.idNumber, "000101", citizen.dateOfExpiry)
        assertThrows<EidException.ChipAccessDenied> {
            runBlocking { readChip(link, wrongKey, ChipReadOptions(false, null), null, null) }
        }
    }

    @Test
    fun unreachableBackendIsNetwork(@TempDir dir: Path) {
        val refused = CountingTransport(HttpUrlConnectionTransport())
        val wallet = WalletHandle.open(WalletConfig(dir.toString(), "http://127.0.0.1:9"), SoftwareKeyStore(), refused)
        wallet.setUp("123456")
        assertThrows<EidException.Network> {
            runBlocking { wallet.startActivation("001099012345", "0912345678") }
        }
        // A refused connection is NotSent: retried (4 attempts) even for this POST.
        assertEquals(4, refused.failures.count { it is HttpTransportException.NotSent }, refused.failures.toString())
        assertThrows<EidException.Network> { runBlocking { Verifier.fetch("http://127.0.0.1:9", refused) } }
        assertThrows<EidException.InvalidInput> { runBlocking { wallet.signingEnrol() } }
        assertTrue(File(dir.toFile(), "wallet.db").exists())
    }

    @Test
    fun presentOfflineAndVerifyWithTheBackendsLists(@TempDir dir: Path): Unit = runBlocking {
        val citizen = simCitizens(4u)[3]
        val wallet = activated(dir, citizen)
        val stock = wallet.presentationStock().associate { it.profile to it.unused }
        assertTrue(stock.getValue(Profile.AIRPORT) > 0uL, "airport credentials synced: $stock")

        val preview = wallet.presentationPreview(Profile.AIRPORT)
        assertEquals(citizen.fullName, preview.first { it.name == "full_name" }.value)
        assertEquals("Họ và tên", preview.first { it.name == "full_name" }.label)

        val nonce = ByteArray(16) { it.toByte() }
        val qr = wallet.present(Profile.AIRPORT, Consent.Passcode(Passcode("123456")), nonce)
        assertTrue(qr.text.startsWith("VN1:"), qr.text.take(8))
        assertFalse(qr.online)
        assertEquals("M", qr.ecc)
        assertTrue(qr.qrVersion.toInt() in 1..13, "version ${qr.qrVersion}")
        assertEquals(17 + 4 * qr.qrVersion.toInt(), qr.size.toInt())
        assertEquals(qr.size.toInt() * qr.size.toInt(), qr.modules.size)
        // The top-left finder pattern: a dark 7-module edge row.
        assertTrue((0 until 7).all { qr.modules[it] }, "finder pattern")
        assertTrue(qr.payloadBytes in 200uL..400uL, "payload ${qr.payloadBytes}")
        assertTrue(qr.expiresAt.toLong() > System.currentTimeMillis() / 1000)
        assertEquals(stock.getValue(Profile.AIRPORT) - 1uL, wallet.presentationStock().first { it.profile == Profile.AIRPORT }.unused)

        val before = http.exchanges.get()
        val verifier = Verifier.fetch(backendUrl, http)
        assertEquals(2, http.exchanges.get() - before, "trust list and status list through the app's transport")
        val verdict = verifier.verifyOffline(qr.text, nonce, Profile.AIRPORT)
        assertTrue(verdict.valid, verdict.reasons.toString())
        assertEquals(Profile.AIRPORT, verdict.profile)
        assertEquals(preview.map { it.name }, verdict.fields.map { it.name })
        assertEquals(citizen.idNumber, verdict.fields.first { it.name == "id_number" }.value)
        assertNotNull(verdict.statusListAgeS)
        assertEquals(emptyList<String>(), verdict.reasons)

        // One character changed in the middle of the base45 text.
        val i = qr.text.length / 2
        val tampered = qr.text.substring(0, i) + (if (qr.text[i] == 'A') 'B' else 'A') + qr.text.substring(i + 1)
        val bad = verifier.verifyOffline(tampered, nonce, Profile.AIRPORT)
        assertFalse(bad.valid)
        assertTrue(bad.reasons.isNotEmpty())
        assertTrue(bad.fields.isEmpty())

        val wrongNonce = verifier.verifyOffline(qr.text, ByteArray(16), Profile.AIRPORT)
        assertFalse(wrongNonce.valid)
        assertTrue(wrongNonce.reasons.any { verdictReasonMessage(it).contains("nonce") }, wrongNonce.reasons.toString())

        val otherDesk = verifier.verifyOffline(qr.text, nonce, Profile.CLINIC)
        assertFalse(otherDesk.valid)

        assertThrows<EidException.InvalidInput> { Verifier(byteArrayOf(1, 2, 3), null) }
        assertTrue(wallet.transactions().any { it.kind == TransactionKind.PRESENTATION && it.profile == "airport" })
    }

    @Test
    fun presentOnlineAndRedeemOnceAtARegisteredDesk(@TempDir dir: Path): Unit = runBlocking {
        val citizen = simCitizens(5u)[4]
        val wallet = activated(dir, citizen)
        val token = wallet.presentOnline(Profile.AIRPORT, Passcode("123456"))
        assertTrue(token.online)
        assertTrue(token.text.startsWith("VNT2:"), token.text.take(8))
        assertEquals(token.size.toInt() * token.size.toInt(), token.modules.size)

        assertThrows<EidException.Backend> {
            runBlocking { VerifierDesk.register(backendUrl, SoftwareKeyStore(), "not-the-token", "desk", listOf(Profile.AIRPORT), http) }
        }
        val deskKeys = SoftwareKeyStore()
        val desk = VerifierDesk.register(backendUrl, deskKeys, adminToken, "Noi Bai T2 check-in 14", listOf(Profile.AIRPORT), http)
        assertTrue(desk.verifierId().isNotEmpty())
        assertNotNull(deskKeys.publicKey("eid.verifier"), "the desk key lives in the desk's key store")

        val verdict = desk.redeem(token.text)
        assertTrue(verdict.valid, verdict.reasons.toString())
        assertTrue(verdict.online)
        assertEquals(Profile.AIRPORT, verdict.profile)
        assertEquals(citizen.fullName, verdict.fields.first { it.name == "full_name" }.value)

        // The same desk, reopened from its id, cannot redeem the token again.
        val reopened = VerifierDesk.open(backendUrl, deskKeys, desk.verifierId(), http)
        assertThrows<EidException.TokenUsed> { runBlocking { reopened.redeem(token.text) } }

        // A clinic-only desk may not receive an airport token; an offline QR is not redeemed.
        val clinic = VerifierDesk.register(backendUrl, SoftwareKeyStore(), adminToken, "clinic", listOf(Profile.CLINIC), http)
        val second = wallet.presentOnline(Profile.AIRPORT, Passcode("123456"))
        val refused = assertThrows<EidException.Backend> { runBlocking { clinic.redeem(second.text) } }
        assertEquals("not_allowed", refused.code)
        val offline = wallet.present(Profile.AIRPORT, Consent.Passcode(Passcode("123456")), null)
        assertThrows<EidException.InvalidInput> { runBlocking { desk.redeem(offline.text) } }
    }

    @Test
    fun aPasscodeNeverPrintsItsDigits() {
        val consent = Consent.Passcode(Passcode("135790"))
        for (shown in listOf(consent.toString(), consent.passcode.toString(), "$consent")) {
            assertFalse(shown.contains("135790"), shown)
            assertFalse(shown.contains("1357"), shown)
        }
        assertEquals("Passcode(******)", consent.passcode.toString())
        assertThrows<EidException.InvalidInput> { Passcode("12345") }
    }

    @Test
    fun theAccountIsUnlockedAtTheBackendOnlyWithThePasscode(@TempDir dir: Path): Unit = runBlocking {
        val citizen = simCitizens(7u)[6]
        val wallet = activated(dir, citizen)
        wallet.lockAccountRemote()
        assertThrows<EidException.WrongPasscode> { runBlocking { wallet.unlockAccountRemote(Passcode("000000")) } }
        wallet.unlockAccountRemote(Passcode("123456"))
        assertTrue(wallet.transactions().any { it.profile == "account unlock" && it.outcome == TransactionOutcome.SUCCESS })
    }

    @Test
    fun enrolAndSignAFileIntoADetachedCms(@TempDir dir: Path): Unit = runBlocking {
        val citizen = simCitizens(6u)[5]
        val wallet = activated(dir, citizen)
        val before = http.exchanges.get()
        val credential = wallet.signingEnrol()
        assertTrue(http.exchanges.get() > before, "enrolment went through the app's transport")
        assertEquals("enabled", credential.status)
        assertTrue(credential.subject.contains(citizen.idNumber), credential.subject)
        assertEquals(0x30, credential.certificate[0].toInt())
        assertEquals(listOf(credential.credentialId), wallet.signingCredentials().map { it.credentialId })

        val content = "Đơn đề nghị cấp phiếu lý lịch tư pháp".toByteArray()
        val request = SigningRequest("don-de-nghi.pdf", content, "Sở Tư pháp Hà Nội")
        val sha256 = MessageDigest.getInstance("SHA-256").digest(content).joinToString("") { "%02x".format(it) }
        val consent = wallet.signingConsent(request)
        assertEquals(sha256, consent.sha256Hex)
        assertEquals("Sở Tư pháp Hà Nội", consent.relyingParty)
        assertEquals(content.size.toULong(), consent.size)

        val signed = wallet.sign(request, "123456")
        assertEquals(consent, signed.consent)
        assertTrue(signed.cms.size > 500, "CMS of ${signed.cms.size} bytes")
        assertEquals(0x30, signed.cms[0].toInt(), "a DER SEQUENCE")
        // Definite long-form length covering the whole encoding.
        val lenBytes = signed.cms[1].toInt() and 0x7f
        assertTrue(signed.cms[1].toInt() and 0x80 != 0)
        val len = (0 until lenBytes).fold(0) { acc, k -> (acc shl 8) or (signed.cms[2 + k].toInt() and 0xff) }
        assertEquals(signed.cms.size, 2 + lenBytes + len)
        assertTrue(wallet.transactions().any { it.kind == TransactionKind.SIGNING && it.outcome == TransactionOutcome.SUCCESS })

        val wrong = assertThrows<EidException.WrongPasscode> { runBlocking { wallet.sign(request, "000000") } }
        assertEquals(4u, wrong.attemptsLeft)
        assertNotEquals(0, signed.signingTime.toLong())
    }
}
