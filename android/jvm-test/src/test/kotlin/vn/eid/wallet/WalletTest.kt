package vn.eid.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
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
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit

/** The whole journey through the Kotlin bindings against `eid serve` started by the test. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalletTest {
    private lateinit var server: Process
    private lateinit var backendUrl: String
    private val serverDir: Path = Files.createTempDirectory("eid-backend")

    @BeforeAll
    fun startBackend() {
        val cli = System.getProperty("eid.cli") ?: error("-Deid.cli is not set")
        server = ProcessBuilder(cli, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite://${serverDir.resolve("backend.db")}", "--log", "warn")
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

    private fun open(dir: Path, keys: KeyStore = SoftwareKeyStore()) =
        WalletHandle.open(WalletConfig(dir.toString(), backendUrl), keys)

    private fun mrzKey(c: vn.eid.wallet.testing.SimCitizen) =
        ChipAccessKey.Mrz(c.idNumber, c.dateOfBirth, c.dateOfExpiry)

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
        assertEquals("valid", summary.chipAuthentication)
        assertTrue(card.reconnects() > 0uL, "the link dropped and the read resumed")
        assertEquals(ChipStage.DONE, stages.last())

        val activation = wallet.completeActivation(pending, code!!, chip)
        assertEquals(2.toUByte(), activation.level)
        assertEquals(AccountStatus.Active(2.toUByte()), wallet.state())
        assertEquals(activation.accountId, wallet.accountId())

        val steps = CopyOnWriteArrayList<SyncStep>()
        val report = wallet.sync(object : SyncListener {
            override fun onSync(step: SyncStep) {
                steps.add(step)
            }
        })
        assertTrue(report.updated >= 4uL, "documents synced: $report")
        assertEquals(listOf(SyncStep.TRUST_LIST, SyncStep.STATUS_LIST, SyncStep.DOCUMENTS, SyncStep.APPLYING, SyncStep.DONE), steps)
        val docs = wallet.documents()
        assertEquals(DocumentKind.entries.toSet(), docs.map { it.kind }.toSet())
        assertTrue(docs.all { it.status == DocumentStatus.VALID })
        val identity = wallet.document(docs.first { it.kind == DocumentKind.IDENTITY }.id)
        assertTrue(identity.fieldsJson.contains(citizen.idNumber))
        assertEquals(null, wallet.syncStatus().lastError)
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
        val wallet = WalletHandle.open(WalletConfig(dir.toString(), "http://127.0.0.1:9"), SoftwareKeyStore())
        wallet.setUp("123456")
        assertThrows<EidException.Network> {
            runBlocking { wallet.startActivation("001099012345", "0912345678") }
        }
        assertTrue(File(dir.toFile(), "wallet.db").exists())
    }
}
