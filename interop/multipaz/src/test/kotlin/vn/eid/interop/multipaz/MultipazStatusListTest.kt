package vn.eid.interop.multipaz

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.multipaz.asn1.ASN1Integer
import org.multipaz.cbor.Cbor
import org.multipaz.cbor.Tagged
import org.multipaz.crypto.Algorithm
import org.multipaz.crypto.AsymmetricKey
import org.multipaz.crypto.Crypto
import org.multipaz.crypto.EcCurve
import org.multipaz.crypto.X500Name
import org.multipaz.mdoc.mso.MobileSecurityObject
import org.multipaz.mdoc.util.MdocUtil
import org.multipaz.revocation.RevocationStatus
import org.multipaz.revocation.StatusList
import org.multipaz.webtoken.WebTokenCheck
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import kotlin.time.Clock
import kotlin.time.Duration.Companion.days
import kotlin.time.Duration.Companion.hours

/**
 * Revocation as Multipaz checks it: the Token Status List reference in the MSO our backend
 * issued ([MobileSecurityObject] parses `status.status_list`), and the Status List Token in CWT
 * form our backend serves ([StatusList.fromCwt]: `typ`, signature by the x5chain's document
 * signer chaining to the trust list's IACA, expiry, `sub`), before and after the citizen moves
 * to another phone (which revokes the first phone's MSOs). A backend of its own: this revokes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class MultipazStatusListTest {
    private lateinit var eid: EidFixture

    @BeforeAll
    fun setUp() {
        eid = EidFixture()
    }

    @AfterAll
    fun tearDown() {
        if (::eid.isInitialized) eid.close()
    }

    /** The PhotoID's MSO as the wallet holds it (`eid wallet mdoc export`), read by Multipaz. */
    private fun exportedMso(): MobileSecurityObject {
        val file = File(eid.dir, "photoid.cbor")
        eid.run(*eid.wallet(), "mdoc", "export", "--doctype", PHOTO_ID, "--out", file.path)
        val issuerAuth = Cbor.decode(file.readBytes())["issuerAuth"].asCoseSign1
        val msoBytes = (Cbor.decode(issuerAuth.payload!!) as Tagged).taggedItem.asBstr
        return MobileSecurityObject.fromDataItem(Cbor.decode(msoBytes))
    }

    private fun fetch(uri: String): ByteArray {
        val r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(uri)).build(), HttpResponse.BodyHandlers.ofByteArray())
        assertEquals(200, r.statusCode(), "GET $uri")
        assertEquals("application/statuslist+cwt", r.headers().firstValue("content-type").orElse(""))
        return r.body()
    }

    /** Multipaz's reading of the list at [uri]: the token checked against our IACA, `sub` = [uri]. */
    private fun statusList(uri: String): StatusList = runBlocking {
        StatusList.fromCwt(fetch(uri), eid.iaca, mapOf(WebTokenCheck.SUB to uri))
    }

    @Test
    fun `Multipaz reads our MSO's status reference and our status list token, and sees the revocation`() {
        val mso = exportedMso()
        assertEquals(PHOTO_ID, mso.docType)
        val status = mso.revocationStatus
        assertTrue(status is RevocationStatus.StatusList, "the MSO names a Token Status List: $status")
        status as RevocationStatus.StatusList
        assertTrue(status.uri.startsWith(eid.backend), "the list is the backend's: ${status.uri}")

        val before = statusList(status.uri)
        assertEquals(0, before[status.idx], "valid before")

        // The citizen activates another phone: the first phone's MSOs are revoked.
        val citizen = eid.citizen
        eid.run(*eid.wallet("second-phone"), "activate", "--id", EidFixture.str(citizen, "id"),
            "--phone", EidFixture.str(citizen, "phone"), "--sim")
        val after = statusList(status.uri)
        assertEquals(1, after[status.idx], "invalid (revoked) after the move")
        assertEquals(before.bitsPerItem, after.bitsPerItem)
    }

    @Test
    fun `Multipaz refuses our status list token under another root, or with its signature changed`() {
        val uri = (exportedMso().revocationStatus as RevocationStatus.StatusList).uri
        val token = fetch(uri)
        // A root that did not issue our document signer.
        val other = runBlocking {
            val key = Crypto.createEcPrivateKey(EcCurve.P256)
            val now = Clock.System.now()
            MdocUtil.generateIacaCertificate(
                AsymmetricKey.anonymous(key, Algorithm.ES256), X500Name.fromName("CN=Another IACA,C=UT"),
                ASN1Integer(7L), now - 1.hours, now + 1.days, "https://other.invalid", "https://other.invalid/crl",
            )
        }
        assertThrows(Exception::class.java) { runBlocking { StatusList.fromCwt(token, other) } }
        // The last byte is the signature's.
        val changed = token.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        assertThrows(Exception::class.java) { runBlocking { StatusList.fromCwt(changed, eid.iaca) } }
        // Another list's URI as `sub`.
        assertThrows(Exception::class.java) {
            runBlocking { StatusList.fromCwt(token, eid.iaca, mapOf(WebTokenCheck.SUB to "$uri/other")) }
        }
        // And the untouched token passes, so the refusals above are the checks'.
        runBlocking { StatusList.fromCwt(token, eid.iaca, mapOf(WebTokenCheck.SUB to uri)) }
    }

    companion object {
        const val PHOTO_ID = "org.iso.23220.photoid.1"
    }
}
