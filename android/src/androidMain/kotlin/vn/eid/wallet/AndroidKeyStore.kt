package vn.eid.wallet

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import java.math.BigInteger
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The wallet's KeyStore on the Android Keystore (StrongBox when the phone has one). Keys never
 * leave the secure hardware; the wallet addresses them by alias. Needs the Android SDK (compiled
 * by the app's Gradle build, not by the host-JVM tests, which use a JCA software store).
 *
 * @param challenge attestation challenge (from the backend) for the device key's certificate chain.
 */
class AndroidKeyStore(private val strongBox: Boolean = true, private val challenge: ByteArray? = null) : KeyStore {
    private val ks = java.security.KeyStore.getInstance(PROVIDER).apply { load(null) }

    override fun createSigningKey(alias: String): ByteArray = guard {
        if (ks.containsAlias(alias)) throw EidException.KeyAlreadyExists()
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .setIsStrongBoxBacked(strongBox)
            .apply { if (challenge != null) setAttestationChallenge(challenge) }
            .build()
        val pair = try {
            KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER).apply { initialize(spec) }.generateKeyPair()
        } catch (e: StrongBoxUnavailableException) {
            return@guard AndroidKeyStore(false, challenge).createSigningKey(alias)
        }
        sec1(pair.public as ECPublicKey)
    }

    override fun publicKey(alias: String): ByteArray? = guard {
        (ks.getCertificate(alias)?.publicKey as? ECPublicKey)?.let(::sec1)
    }

    override fun sign(alias: String, message: ByteArray): ByteArray = guard {
        val key = ks.getKey(alias, null) as? java.security.PrivateKey ?: throw EidException.KeyNotFound()
        Signature.getInstance("SHA256withECDSA").run {
            initSign(key)
            update(message)
            sign()
        }
    }

    override fun delete(alias: String) = guard {
        if (ks.containsAlias(alias)) ks.deleteEntry(alias)
    }

    override fun attestation(alias: String): List<ByteArray>? = guard {
        val chain = ks.getCertificateChain(alias) ?: throw EidException.KeyNotFound()
        if (challenge == null) null else chain.map { it.encoded }
    }

    override fun wrapKey(alias: String, key: ByteArray): ByteArray = guard {
        val aes = ks.getKey(alias, null) as? SecretKey ?: createWrappingKey(alias)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, aes)
        cipher.updateAAD(alias.toByteArray())
        cipher.iv + cipher.doFinal(key)
    }

    override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray = guard {
        val aes = ks.getKey(alias, null) as? SecretKey ?: throw EidException.KeyNotFound()
        if (wrapped.size < 12 + 16) throw EidException.Crypto()
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, aes, GCMParameterSpec(128, wrapped, 0, 12))
        cipher.updateAAD(alias.toByteArray())
        cipher.doFinal(wrapped, 12, wrapped.size - 12)
    }

    private fun createWrappingKey(alias: String): SecretKey {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            // The biometric copy of the data key opens only after BiometricPrompt.
            .setUserAuthenticationRequired(alias == "eid.biometric")
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER).apply { init(spec) }.generateKey()
    }

    private inline fun <T> guard(block: () -> T): T = try {
        block()
    } catch (e: EidException) {
        throw e
    } catch (e: UserNotAuthenticatedException) {
        throw EidException.UserAuthenticationRequired()
    } catch (e: KeyPermanentlyInvalidatedException) {
        throw EidException.KeyInvalidated()
    } catch (e: AEADBadTagException) {
        throw EidException.Crypto()
    } catch (e: Exception) {
        throw EidException.KeyStoreUnavailable(e.javaClass.simpleName)
    }

    private fun sec1(key: ECPublicKey): ByteArray = byteArrayOf(4) + fixed32(key.w.affineX) + fixed32(key.w.affineY)

    private fun fixed32(n: BigInteger): ByteArray {
        val b = n.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
        return ByteArray(32 - b.size) + b
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
    }
}
