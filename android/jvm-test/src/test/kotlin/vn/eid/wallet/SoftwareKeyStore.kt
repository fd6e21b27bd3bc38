package vn.eid.wallet

import java.math.BigInteger
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.SecureRandom
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.concurrent.ConcurrentHashMap
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/** The wallet's KeyStore in software (JCA): what the Android Keystore glue does in hardware. */
class SoftwareKeyStore : KeyStore {
    private val signing = ConcurrentHashMap<String, KeyPair>()
    private val wrapping = ConcurrentHashMap<String, SecretKey>()
    private val random = SecureRandom()

    override fun createSigningKey(alias: String): ByteArray {
        val gen = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }
        val pair = gen.generateKeyPair()
        if (signing.putIfAbsent(alias, pair) != null) throw EidException.KeyAlreadyExists()
        return sec1(pair.public as ECPublicKey)
    }

    override fun publicKey(alias: String): ByteArray? = signing[alias]?.let { sec1(it.public as ECPublicKey) }

    override fun sign(alias: String, message: ByteArray): ByteArray {
        val pair = signing[alias] ?: throw EidException.KeyNotFound()
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(pair.private)
            update(message)
            sign()
        }
    }

    override fun delete(alias: String) {
        signing.remove(alias)
        wrapping.remove(alias)
    }

    override fun attestation(alias: String): List<ByteArray>? {
        if (!signing.containsKey(alias)) throw EidException.KeyNotFound()
        return null
    }

    override fun wrapKey(alias: String, key: ByteArray): ByteArray {
        val aes = wrapping.computeIfAbsent(alias) { KeyGenerator.getInstance("AES").apply { init(256) }.generateKey() }
        val iv = ByteArray(12).also(random::nextBytes)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, aes, GCMParameterSpec(128, iv))
        cipher.updateAAD(alias.toByteArray())
        return iv + cipher.doFinal(key)
    }

    override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray {
        val aes = wrapping[alias] ?: throw EidException.KeyNotFound()
        if (wrapped.size < 12 + 16) throw EidException.Crypto()
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, aes, GCMParameterSpec(128, wrapped, 0, 12))
        cipher.updateAAD(alias.toByteArray())
        return try {
            cipher.doFinal(wrapped, 12, wrapped.size - 12)
        } catch (e: AEADBadTagException) {
            throw EidException.Crypto()
        }
    }

    private fun sec1(key: ECPublicKey): ByteArray =
        byteArrayOf(4) + fixed32(key.w.affineX) + fixed32(key.w.affineY)

    private fun fixed32(n: BigInteger): ByteArray {
        val b = n.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
        return ByteArray(32 - b.size) + b
    }
}
