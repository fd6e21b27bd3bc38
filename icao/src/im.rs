//! PACE integrated mapping (ICAO 9303-11 §4.4.3.3.2 and Appendix B): the mapped generator is
//! derived from both nonces, G~ = f_G(R_p(s, t)) (a point for ECDH, a subgroup element for DH),
//! with no key agreement in the mapping step.

use super::dh::{DhElement, DhGroup, from_uint, to_uint};
use super::ec::{Curve, EcPoint};
use super::symmetric::{self, Cipher};
use crypto_bigint::ctutils::{CtEq, CtSelect};
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{NonZero, Odd, U512, Uint};
use zeroize::Zeroizing;

/// Limbs that hold the field of every supported curve (up to 384 bits) and R's output.
const L: usize = U512::LIMBS;

/// The constants c0 and c1 of the pseudo-random function for 128-bit blocks (ICAO 9303-11
/// §4.4.3.3.2).
const C0_128: [u8; 16] = [
    0xa6, 0x68, 0x89, 0x2a, 0x7c, 0x41, 0xe3, 0xca, 0x73, 0x9f, 0x40, 0xb0, 0x57, 0xd8, 0x59, 0x04,
];
const C1_128: [u8; 16] = [
    0xa4, 0xe1, 0x36, 0xac, 0x72, 0x5f, 0x73, 0x8b, 0x01, 0xc1, 0xf6, 0x02, 0x17, 0xc1, 0x88, 0xad,
];

/// Why the mapping failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("integrated mapping is implemented for AES-128 only")]
    UnsupportedCipher,
    #[error("nonce of the wrong length")]
    BadNonce,
    #[error("mapping gave no point")]
    NoPoint,
    #[error("integrated mapping is implemented for fields up to 384 bits")]
    UnsupportedCurve,
}

/// The pseudo-random function R(s, t) (ICAO 9303-11 §4.4.3.3.2) with AES-128 (l = k = 128):
/// key_0 = E(t, s); for i = 1..n: x_i = E(key_{i-1}, c1), key_i = E(key_{i-1}, c0);
/// output x_1 || … || x_n with n = ⌈(log2 p + 64) / l⌉.
pub fn pseudo_random(
    cipher: Cipher,
    s: &[u8],
    t: &[u8],
    p_bits: usize,
) -> Result<Zeroizing<Vec<u8>>, MappingError> {
    if cipher != Cipher::Aes128 {
        return Err(MappingError::UnsupportedCipher);
    }
    if s.len() != 16 || t.len() != 16 {
        return Err(MappingError::BadNonce);
    }
    let e = |key: &[u8], block: &[u8]| {
        symmetric::encrypt_block(cipher, key, block).map_err(|_| MappingError::BadNonce)
    };
    let n = (p_bits + 64).div_ceil(128);
    let mut key = Zeroizing::new(e(t, s)?);
    let mut out = Zeroizing::new(Vec::with_capacity(16 * n));
    for _ in 0..n {
        out.extend_from_slice(&e(&key, &C1_128)?);
        key = Zeroizing::new(e(&key, &C0_128)?);
    }
    Ok(out)
}

/// The mapped generator f_G(R_p(s, t)) on `curve`.
pub fn map(curve: Curve, cipher: Cipher, s: &[u8], t: &[u8]) -> Result<EcPoint, MappingError> {
    // The arithmetic below holds 512-bit numbers: P-521's field and R's 585 bits do not fit.
    if curve == Curve::P521 {
        return Err(MappingError::UnsupportedCurve);
    }
    let p_bits = curve.field_len() * 8;
    let r = pseudo_random(cipher, s, t, p_bits)?;
    point_encode(curve, &r)
}

/// The mapped generator f_g(R_p(s, t)) in a MODP group: R's output to the power (p-1)/q.
pub fn map_dh(
    group: DhGroup,
    cipher: Cipher,
    s: &[u8],
    t: &[u8],
) -> Result<DhElement, MappingError> {
    let r = pseudo_random(cipher, s, t, group.element_len() * 8)?;
    group.map_to_subgroup(&r).map_err(|_| MappingError::NoPoint)
}

/// f_G of ICAO 9303-11 Appendix B.2 (simplified SWU for p ≡ 3 mod 4, affine coordinates) of
/// `r mod p`: with α = -t², X2 = -b(1+α+α²) / (a(α+α²)), X3 = α·X2, h2 = X2³ + a·X2 + b,
/// U = t³·h2 and A = h2^(p-1-(p+1)/4): (X2, A·h2) when A²·h2 = 1, else (X3, A·U).
/// The cofactor of the supported curves is 1.
pub fn point_encode(curve: Curve, r: &[u8]) -> Result<EcPoint, MappingError> {
    let d = curve.domain_parameters();
    let len = curve.field_len();
    let uint = |b: &[u8]| to_uint::<L>(b).ok_or(MappingError::NoPoint);
    let p = uint(&d.p)?;
    let p_nz = NonZero::new(p).into_option().ok_or(MappingError::NoPoint)?;
    let params =
        FixedMontyParams::new_vartime(Odd::new(p).into_option().ok_or(MappingError::NoPoint)?);
    let f = |v: &Uint<L>| FixedMontyForm::new(v, &params);
    let t = f(&uint(r)?.rem_vartime(&p_nz));
    let a = f(&uint(&d.a)?);
    let b = f(&uint(&d.b)?);
    let one = FixedMontyForm::one(&params);

    let alpha = t.square().neg();
    let alpha_sum = alpha.add(&alpha.square());
    let denominator = a.mul(&alpha_sum);
    let p_minus_2 = p.wrapping_sub(&Uint::from_u8(2));
    let inverse = denominator.pow_vartime(&p_minus_2);
    let x2 = b.neg().mul(&one.add(&alpha_sum)).mul(&inverse);
    let x3 = alpha.mul(&x2);
    let h2 = x2.square().mul(&x2).add(&a.mul(&x2)).add(&b);
    let u = t.square().mul(&t).mul(&h2);
    let quarter = p.wrapping_add(&Uint::ONE).shr_vartime(2);
    let exponent = p.wrapping_sub(&Uint::ONE).wrapping_sub(&quarter);
    let big_a = h2.pow_vartime(&exponent);
    // Which candidate is on the curve depends on the secret nonce: choose in constant time.
    let is_x2 = big_a.square().mul(&h2).ct_eq(&one);
    let x = x3.ct_select(&x2, is_x2);
    let y = big_a.mul(&u).ct_select(&big_a.mul(&h2), is_x2);
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(&from_uint(&x.retrieve(), len).ok_or(MappingError::NoPoint)?);
    sec1.extend_from_slice(&from_uint(&y.retrieve(), len).ok_or(MappingError::NoPoint)?);
    EcPoint::from_sec1(curve, &sec1).map_err(|_| MappingError::NoPoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// ICAO 9303-11 Appendix H.1 (PACE integrated mapping, ECDH on brainpoolP256r1).
    #[test]
    fn icao_appendix_h1_mapping() {
        let s = h("2923BE84 E16CD6AE 529049F1 F1BBE9EB");
        let t = h("5DD4CBFC 96F5453B 130D890A 1CDBAE32");
        let r = pseudo_random(Cipher::Aes128, &s, &t, 256).unwrap();
        assert_eq!(
            *r,
            h(
                "E4447E2D FB3586BA C05DDB00 156B57FB B2179A39 49294C97 25418980 0C517BAA \
               8DA0FF39 7ED8C445 D3E421E4 FEB57322"
            )
        );
        let g = map(Curve::BrainpoolP256r1, Cipher::Aes128, &s, &t).unwrap();
        assert_eq!(
            g.x(),
            h("8E82D315 59ED0FDE 92A4D049 8ADD3C23 BABA94FB 77691E31 E90AEA77 FB17D427")
        );
        assert_eq!(
            g.y(),
            h("4C1AE14B D0C3DBAC 0C871B7F 36081693 64437CA3 0AC243A0 89D3F266 C1E60FAD")
        );
    }

    #[test]
    fn maps_onto_every_curve_and_refuses_other_ciphers() {
        assert_eq!(
            map(Curve::P521, Cipher::Aes128, &[1; 16], &[2; 16]),
            Err(MappingError::UnsupportedCurve)
        );
        for curve in Curve::ALL.into_iter().filter(|c| *c != Curve::P521) {
            for i in 0..8u8 {
                let s = [i; 16];
                let t = [i.wrapping_mul(31) ^ 0x5A; 16];
                let g = map(curve, Cipher::Aes128, &s, &t).unwrap();
                assert_eq!(g.curve(), curve);
            }
        }
        assert_eq!(
            map(Curve::P256, Cipher::Aes256, &[1; 16], &[2; 16]),
            Err(MappingError::UnsupportedCipher)
        );
        assert_eq!(
            map(Curve::P256, Cipher::Aes128, &[1; 8], &[2; 16]),
            Err(MappingError::BadNonce)
        );
    }

    /// ICAO 9303-11 Appendix H.2 (PACE integrated mapping, DH on the 1024-bit MODP group).
    #[test]
    fn icao_appendix_h2_mapping() {
        let s = h("FA5B7E3E 49753A0D B9178B7B 9BD898C8");
        let t = h("B3A6DB3C 870C3E99 245E0D1C 06B747DE");
        let r = pseudo_random(Cipher::Aes128, &s, &t, 1024).unwrap();
        assert_eq!(
            *r,
            h(
                "EAB98D13 E0905295 2AA72990 7C3C9461 84DEA0FE 74AD2B3A F506F0A8 3018459C \
               38099CD1 F7FF4EA0 A078DB1F AC136550 5E3DC855 00EF95E2 0B4EEF2E 88489233 \
               BEE0546B 472F994B 618D1687 02406791 DEEF3CB4 810932EC 278F3533 FDB860EB \
               4835C36F A4F1BF3F A0B828A7 18C96BDE 88FBA38A 3E6C35AA A1095925 1EB5FC71 \
               0FC18725 8995944C 0F926E24 9373F485"
            )
        );
        let g = map_dh(DhGroup::Modp1024, Cipher::Aes128, &s, &t).unwrap();
        assert_eq!(
            g.to_bytes(),
            h(
                "1D7D767F 11E333BC D6DBAEF4 0E799E7A 926B9697 3550656F F3C83072 6D118D61 \
               C276CDCC 61D475CF 03A98E0C 0E79CAEB A5BE2557 8BD4551D 0B109032 36F0B0F9 \
               76852FA7 8EEA14EA 0ACA87D1 E91F688F E0DFF897 BBE35A47 2621D343 564B262F \
               34223AE8 FC59B664 BFEDFA2B FE7516CA 5510A6BB B633D517 EC25D4E0 BBAA16C2"
            )
        );
        for group in [DhGroup::Modp2048q224, DhGroup::Modp2048q256] {
            let g = map_dh(group, Cipher::Aes128, &s, &t).unwrap();
            assert_eq!(g.group(), group);
        }
    }
}
