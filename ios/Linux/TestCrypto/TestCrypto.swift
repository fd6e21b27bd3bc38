// Linux only (a dependency of the XCTests in Package.swift's Linux branch): the part of CryptoKit
// the XCTests use, with CryptoKit's names and encodings, over OpenSSL's libcrypto. CryptoKit is
// Apple-only, and swift-crypto (its open-source twin) is not packaged by Debian.
//
// What the tests need: P256.Signing keys (X9.63 public key, DER ECDSA signatures over SHA-256,
// PKCS#8 / SubjectPublicKeyInfo PEM), AES.GCM with CryptoKit's `combined` layout
// (nonce 12 ‖ ciphertext ‖ tag 16), SymmetricKey and SHA256. Nothing else; not for the app.
import COpenSSL
import Foundation

public enum TestCryptoError: Error {
    case openssl(String)
    case authenticationFailure
    case incorrectParameterSize
}

private func check(_ ok: Bool, _ what: String) throws {
    if !ok { throw TestCryptoError.openssl(what) }
}

private func randomBytes(_ n: Int) -> Data {
    var out = [UInt8](repeating: 0, count: n)
    precondition(RAND_bytes(&out, Int32(n)) == 1, "RAND_bytes")
    return Data(out)
}

/// Reads all that was written to a memory BIO.
private func drain(_ bio: OpaquePointer) -> Data {
    var out = Data()
    var chunk = [UInt8](repeating: 0, count: 1024)
    while true {
        let n = BIO_read(bio, &chunk, Int32(chunk.count))
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<Int(n)])
    }
    return out
}

/// An EVP_PKEY, freed with its owner.
final class PKey: @unchecked Sendable {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
    deinit { EVP_PKEY_free(raw) }
}

public enum P256 {
    public enum Signing {
        public struct ECDSASignature {
            public let derRepresentation: Data
        }

        public struct PublicKey {
            let key: PKey

            /// SubjectPublicKeyInfo DER.
            private var spki: Data {
                let len = i2d_PUBKEY(key.raw, nil)
                precondition(len > 0, "i2d_PUBKEY")
                var buf = [UInt8](repeating: 0, count: Int(len))
                buf.withUnsafeMutableBufferPointer { b in
                    var p = b.baseAddress
                    _ = i2d_PUBKEY(key.raw, &p)
                }
                return Data(buf)
            }

            /// The uncompressed point 04 ‖ X ‖ Y: the BIT STRING that ends a P-256 SPKI.
            public var x963Representation: Data {
                let der = spki
                precondition(der.count == 91, "a P-256 SubjectPublicKeyInfo")
                return der.suffix(65)
            }

            public var pemRepresentation: String {
                let bio = BIO_new(BIO_s_mem())!
                defer { BIO_free(bio) }
                precondition(PEM_write_bio_PUBKEY(bio, key.raw) == 1, "PEM_write_bio_PUBKEY")
                return String(decoding: drain(bio), as: UTF8.self)
            }
        }

        public struct PrivateKey {
            let key: PKey

            public init() {
                let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nil)!
                defer { EVP_PKEY_CTX_free(ctx) }
                var pkey: OpaquePointer?
                precondition(
                    EVP_PKEY_keygen_init(ctx) == 1
                        && EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) == 1
                        && EVP_PKEY_keygen(ctx, &pkey) == 1,
                    "P-256 key generation")
                key = PKey(pkey!)
            }

            public var publicKey: PublicKey { PublicKey(key: key) }

            /// PKCS#8 ("BEGIN PRIVATE KEY"), as CryptoKit writes it.
            public var pemRepresentation: String {
                let bio = BIO_new(BIO_s_mem())!
                defer { BIO_free(bio) }
                precondition(
                    PEM_write_bio_PKCS8PrivateKey(bio, key.raw, nil, nil, 0, nil, nil) == 1,
                    "PEM_write_bio_PKCS8PrivateKey")
                return String(decoding: drain(bio), as: UTF8.self)
            }

            /// ECDSA over SHA-256 of `data`, DER-encoded.
            public func signature<D: DataProtocol>(for data: D) throws -> ECDSASignature {
                let message = [UInt8](data)
                let md = EVP_MD_CTX_new()!
                defer { EVP_MD_CTX_free(md) }
                try check(EVP_DigestSignInit(md, nil, EVP_sha256(), nil, key.raw) == 1, "EVP_DigestSignInit")
                var len = 0
                try check(EVP_DigestSign(md, nil, &len, message, message.count) == 1, "EVP_DigestSign")
                var sig = [UInt8](repeating: 0, count: len)
                try check(EVP_DigestSign(md, &sig, &len, message, message.count) == 1, "EVP_DigestSign")
                return ECDSASignature(derRepresentation: Data(sig[0..<len]))
            }
        }
    }
}

public struct SymmetricKeySize: Sendable {
    public let bitCount: Int
    public init(bitCount: Int) { self.bitCount = bitCount }
    public static let bits128 = SymmetricKeySize(bitCount: 128)
    public static let bits192 = SymmetricKeySize(bitCount: 192)
    public static let bits256 = SymmetricKeySize(bitCount: 256)
}

public struct SymmetricKey: Sendable {
    let bytes: Data
    public init(size: SymmetricKeySize) { bytes = randomBytes(size.bitCount / 8) }
    public init<D: ContiguousBytes>(data: D) { bytes = data.withUnsafeBytes { Data($0) } }
    public var bitCount: Int { bytes.count * 8 }
}

public enum AES {
    public enum GCM {
        public struct SealedBox {
            public let nonce: Data
            public let ciphertext: Data
            public let tag: Data

            /// nonce (12) ‖ ciphertext ‖ tag (16): CryptoKit's layout.
            public var combined: Data? { nonce + ciphertext + tag }

            public init<D: DataProtocol>(combined: D) throws {
                let all = Data(combined)
                guard all.count >= 28 else { throw TestCryptoError.incorrectParameterSize }
                nonce = all.prefix(12)
                ciphertext = all.dropFirst(12).dropLast(16)
                tag = all.suffix(16)
            }

            init(nonce: Data, ciphertext: Data, tag: Data) {
                self.nonce = nonce
                self.ciphertext = ciphertext
                self.tag = tag
            }
        }

        private static func cipher(_ key: SymmetricKey) throws -> OpaquePointer {
            switch key.bitCount {
            case 128: return EVP_aes_128_gcm()
            case 192: return EVP_aes_192_gcm()
            case 256: return EVP_aes_256_gcm()
            default: throw TestCryptoError.incorrectParameterSize
            }
        }

        public static func seal<M: DataProtocol, A: DataProtocol>(
            _ message: M, using key: SymmetricKey, authenticating aad: A
        ) throws -> SealedBox {
            let nonce = [UInt8](randomBytes(12))
            let plain = [UInt8](message)
            let ad = [UInt8](aad)
            let keyBytes = [UInt8](key.bytes)
            let ctx = EVP_CIPHER_CTX_new()!
            defer { EVP_CIPHER_CTX_free(ctx) }
            var out = [UInt8](repeating: 0, count: plain.count + 16)
            var tag = [UInt8](repeating: 0, count: 16)
            var n: Int32 = 0
            var total = 0
            try check(EVP_EncryptInit_ex(ctx, try cipher(key), nil, keyBytes, nonce) == 1, "EVP_EncryptInit_ex")
            if !ad.isEmpty {
                try check(EVP_EncryptUpdate(ctx, nil, &n, ad, Int32(ad.count)) == 1, "EVP_EncryptUpdate (AAD)")
            }
            if !plain.isEmpty {
                try check(EVP_EncryptUpdate(ctx, &out, &n, plain, Int32(plain.count)) == 1, "EVP_EncryptUpdate")
                total = Int(n)
            }
            try out.withUnsafeMutableBufferPointer { b in
                try check(EVP_EncryptFinal_ex(ctx, b.baseAddress! + total, &n) == 1, "EVP_EncryptFinal_ex")
            }
            total += Int(n)
            try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1, "GCM tag")
            return SealedBox(nonce: Data(nonce), ciphertext: Data(out[0..<total]), tag: Data(tag))
        }

        public static func open<A: DataProtocol>(
            _ box: SealedBox, using key: SymmetricKey, authenticating aad: A
        ) throws -> Data {
            let nonce = [UInt8](box.nonce)
            let sealed = [UInt8](box.ciphertext)
            let ad = [UInt8](aad)
            let keyBytes = [UInt8](key.bytes)
            var tag = [UInt8](box.tag)
            guard nonce.count == 12, tag.count == 16 else { throw TestCryptoError.incorrectParameterSize }
            let ctx = EVP_CIPHER_CTX_new()!
            defer { EVP_CIPHER_CTX_free(ctx) }
            var out = [UInt8](repeating: 0, count: sealed.count + 16)
            var n: Int32 = 0
            var total = 0
            try check(EVP_DecryptInit_ex(ctx, try cipher(key), nil, keyBytes, nonce) == 1, "EVP_DecryptInit_ex")
            if !ad.isEmpty {
                try check(EVP_DecryptUpdate(ctx, nil, &n, ad, Int32(ad.count)) == 1, "EVP_DecryptUpdate (AAD)")
            }
            if !sealed.isEmpty {
                try check(EVP_DecryptUpdate(ctx, &out, &n, sealed, Int32(sealed.count)) == 1, "EVP_DecryptUpdate")
                total = Int(n)
            }
            try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1, "GCM tag")
            let ok = out.withUnsafeMutableBufferPointer { b in
                EVP_DecryptFinal_ex(ctx, b.baseAddress! + total, &n) == 1
            }
            guard ok else { throw TestCryptoError.authenticationFailure }
            total += Int(n)
            return Data(out[0..<total])
        }
    }
}

public struct SHA256Digest: Sequence {
    let bytes: [UInt8]
    public func makeIterator() -> IndexingIterator<[UInt8]> { bytes.makeIterator() }
}

public enum SHA256 {
    public static func hash<D: DataProtocol>(data: D) -> SHA256Digest {
        let input = [UInt8](data)
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        precondition(EVP_Digest(input, input.count, &out, &len, EVP_sha256(), nil) == 1, "EVP_Digest")
        return SHA256Digest(bytes: Array(out[0..<Int(len)]))
    }
}
