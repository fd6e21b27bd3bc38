//! End-to-end tests of issuing and verifying each kind of credential, with a small PKI built
//! here (eid-fixtures depends on this crate, so it cannot be used from these tests).

use super::format::{self, CONTENT_TYPE};
use super::health_record;
use super::*;
use ciborium::Value;
use der::Encode;
use der::asn1::ObjectIdentifier;
use eid_crypto::tlv::encode;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

const NOW: u64 = 1_748_736_000; // 2025-06-01
const YEAR: u64 = 365 * 86_400;

fn oid(dotted: &str) -> Vec<u8> {
    ObjectIdentifier::new_unwrap(dotted).to_der().unwrap()
}

fn name(cn: &str) -> Vec<u8> {
    let rdn = |attr: &str, tag: u32, v: &str| {
        encode(
            0x31,
            &encode(0x30, &[oid(attr), encode(tag, v.as_bytes())].concat()),
        )
    };
    encode(
        0x30,
        &[rdn("2.5.4.3", 0x0C, cn), rdn("2.5.4.6", 0x13, "VN")].concat(),
    )
}

/// A minimal X.509 v1 certificate (RFC 5280 §4.1), ECDSA P-256 / SHA-256, valid 2020–2045.
fn certificate(subject: &str, issuer: &str, key: &SigningKey, issuer_key: &SigningKey) -> Vec<u8> {
    let alg = encode(0x30, &oid("1.2.840.10045.4.3.2"));
    let point = key.verifying_key().to_sec1_point(false);
    let spki = encode(
        0x30,
        &[
            encode(
                0x30,
                &[oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")].concat(),
            ),
            encode(0x03, &[&[0u8][..], point.as_bytes()].concat()),
        ]
        .concat(),
    );
    let tbs = encode(
        0x30,
        &[
            encode(0x02, &[subject.len() as u8]),
            alg.clone(),
            name(issuer),
            encode(
                0x30,
                &[
                    encode(0x17, b"200101000000Z"),
                    encode(0x17, b"450101000000Z"),
                ]
                .concat(),
            ),
            name(subject),
            spki,
        ]
        .concat(),
    );
    let sig: Signature = issuer_key.sign(&tbs);
    encode(
        0x30,
        &[
            tbs,
            alg,
            encode(0x03, &[&[0u8][..], sig.to_der().as_bytes()].concat()),
        ]
        .concat(),
    )
}

struct Pki {
    root: Vec<u8>,
    police: IssuerKey,
    transport: IssuerKey,
    social: IssuerKey,
    health: IssuerKey,
    /// The police's second issuer (traffic police): vehicle registrations only.
    traffic_police: IssuerKey,
    /// The health ministry's second issuer: vaccination records only.
    vaccination: IssuerKey,
    justice: IssuerKey,
    /// One issuer for each civil kind (ADR 0047), authorised for that kind alone.
    civil: Vec<(DocumentKind, IssuerKey)>,
    /// The health ministry's third issuer: e-health books only.
    health_book: IssuerKey,
    /// Same subject as `police`, certified by a root nobody trusts.
    rogue_police: IssuerKey,
    trust: TrustList,
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_slice(&[n; 32]).unwrap()
}

fn pki() -> Pki {
    let (root_key, rogue_root_key) = (key(1), key(2));
    let root = certificate("Root TEST", "Root TEST", &root_key, &root_key);
    let issuer = |cn: &str, k: u8, by: &SigningKey, by_name: &str| {
        IssuerKey::new(certificate(cn, by_name, &key(k), by), key(k)).unwrap()
    };
    let mut trust = TrustList::new();
    trust.add_ca_der(&root).unwrap();
    let p = Pki {
        police: issuer("Police TEST", 3, &root_key, "Root TEST"),
        transport: issuer("Transport TEST", 4, &root_key, "Root TEST"),
        social: issuer("Social TEST", 5, &root_key, "Root TEST"),
        health: issuer("Health TEST", 6, &root_key, "Root TEST"),
        traffic_police: issuer("Traffic Police TEST", 10, &root_key, "Root TEST"),
        vaccination: issuer("Health Immunisation TEST", 11, &root_key, "Root TEST"),
        justice: issuer("Justice TEST", 12, &root_key, "Root TEST"),
        civil: crate::credential::kinds::civil_tests::CIVIL
            .iter()
            .zip(13u8..)
            .map(|(kind, k)| (*kind, issuer(kind.as_str(), k, &root_key, "Root TEST")))
            .collect(),
        health_book: issuer("Health Book TEST", 18, &root_key, "Root TEST"),
        rogue_police: issuer("Police TEST", 7, &rogue_root_key, "Rogue TEST"),
        root,
        trust,
    };
    let mut trust = p.trust.clone();
    for (i, kind) in [
        (&p.police, DocumentKind::Identity),
        (&p.transport, DocumentKind::DrivingLicence),
        (&p.social, DocumentKind::HealthInsurance),
        (&p.health, DocumentKind::HealthRecord),
        (&p.traffic_police, DocumentKind::VehicleRegistration),
        (&p.vaccination, DocumentKind::Vaccination),
        (&p.justice, DocumentKind::JudicialRecord),
        (&p.health_book, DocumentKind::EHealthBook),
    ] {
        trust
            .authorise_certificate(i.certificate(), &[kind])
            .unwrap();
    }
    for (kind, i) in &p.civil {
        trust
            .authorise_certificate(i.certificate(), &[*kind])
            .unwrap();
    }
    Pki { trust, ..p }
}

impl Pki {
    fn issuer_of(&self, kind: DocumentKind) -> &IssuerKey {
        match kind {
            DocumentKind::Identity => &self.police,
            DocumentKind::DrivingLicence => &self.transport,
            DocumentKind::HealthInsurance => &self.social,
            DocumentKind::HealthRecord => &self.health,
            DocumentKind::VehicleRegistration => &self.traffic_police,
            DocumentKind::Vaccination => &self.vaccination,
            DocumentKind::JudicialRecord => &self.justice,
            DocumentKind::EHealthBook => &self.health_book,
            civil => self
                .civil
                .iter()
                .find(|(k, _)| *k == civil)
                .map(|(_, i)| i)
                .expect("an issuer for every civil kind"),
        }
    }
    /// A trusted issuer not authorised for `kind`.
    fn wrong_issuer_of(&self, kind: DocumentKind) -> &IssuerKey {
        match kind {
            DocumentKind::Identity => &self.transport,
            _ => self.health_or_police(kind),
        }
    }
    fn health_or_police(&self, kind: DocumentKind) -> &IssuerKey {
        if kind == DocumentKind::HealthRecord {
            &self.police
        } else {
            &self.health
        }
    }
}

fn d(y: u16, m: u8, day: u8) -> Date {
    Date::new(y, m, day).unwrap()
}

const HOLDER_NAME: &str = "Phạm Thu Hà";

fn holder() -> Vec<u8> {
    key(9)
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec()
}

fn bhyt() -> HealthInsuranceCard {
    HealthInsuranceCard {
        code: BhytCode::parse("HT3480123456789").unwrap(),
        holder_name: HOLDER_NAME.into(),
        date_of_birth: d(1985, 4, 12),
        facility: PrimaryCareFacility {
            code: "48001".into(),
            name: "Trạm Y tế Phường 1".into(),
        },
        valid_from: d(2025, 1, 1),
        valid_to: d(2025, 12, 31),
        five_years_continuous: Some(d(2020, 1, 1)),
    }
}

pub(crate) fn document(kind: DocumentKind) -> Document {
    match kind {
        DocumentKind::Identity => Document::Identity(IdentityCard {
            id_number: "048185012345".into(),
            full_name: HOLDER_NAME.into(),
            date_of_birth: d(1985, 4, 12),
            sex: Sex::Female,
            nationality: "Việt Nam".into(),
            place_of_origin: "Xã Tân Lập, Đà Nẵng".into(),
            place_of_residence: "Số 12 Quang Trung, Phường 3, Đà Nẵng".into(),
            issue_date: d(2022, 3, 1),
            expiry_date: Some(d(2045, 4, 12)),
            photo: Some(vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0xFF, 0xD9]),
            account: Some(EidAccount {
                id: "acc-0001".into(),
                level: AccountLevel::Level2,
            }),
        }),
        DocumentKind::DrivingLicence => Document::DrivingLicence(DrivingLicence {
            number: "480123456789".into(),
            holder_name: HOLDER_NAME.into(),
            date_of_birth: d(1985, 4, 12),
            classes: vec![ClassEntitlement {
                class: LicenceClass::LegacyB2,
                issue_date: d(2015, 6, 1),
                expiry_date: Some(d(2025, 6, 1).plus_years(1)),
            }],
            issuing_authority: "Sở Giao thông Vận tải Đà Nẵng".into(),
            points: 12,
        }),
        DocumentKind::HealthInsurance => Document::HealthInsurance(bhyt()),
        DocumentKind::HealthRecord => {
            Document::HealthRecord(HealthRecord::from_bundle(health_record::tests::ips()).unwrap())
        }
        _ => Document::Declared(
            crate::credential::DeclaredDocument::from_json(kind, &declared_sample(kind)).unwrap(),
        ),
    }
}

/// A valid document of a declared-only kind, as JSON (its rules' tests edit it).
pub(crate) fn declared_sample(kind: DocumentKind) -> serde_json::Value {
    use serde_json::json;
    match kind {
        DocumentKind::VehicleRegistration => json!({
            "number": "012345",
            "plate": "43A-123.45",
            "vehicle_type": "car",
            "owner_name": HOLDER_NAME,
            "owner_id_number": "048185012345",
            "brand": "Toyota",
            "model": "Vios 1.5G",
            "colour": "Trắng",
            // Wikipedia's check digit example (X at position 9).
            "vin": "1M8GDM9AXKP042788",
            "engine_number": "2NR-1234567",
            "registration_date": "2019-05-20",
            "issuing_authority": "Phòng Cảnh sát giao thông Công an Đà Nẵng",
        }),
        DocumentKind::Vaccination => json!({
            "holder_name": HOLDER_NAME,
            "birth_date": "1985-04-12",
            "id_number": "048185012345",
            "doses": [
                {"vaccine": "45", "dose_number": 1, "date": "2018-03-01", "facility": "Trạm Y tế Phường 1"},
                {"vaccine": "213", "dose_number": 1, "date": "2021-08-10", "facility": "Trạm Y tế Phường 1", "lot_number": "LOT123456"},
                {"vaccine": "213", "dose_number": 2, "date": "2021-10-12", "facility": "Trung tâm Kiểm soát bệnh tật Đà Nẵng"}
            ],
            "as_of": "2025-06-01",
        }),
        DocumentKind::JudicialRecord => json!({
            "number": "1234/2025/LLTP",
            "form": "1",
            "holder_name": HOLDER_NAME,
            "birth_date": "1985-04-12",
            "id_number": "048185012345",
            "result": "none",
            "issuing_authority": "Sở Tư pháp Đà Nẵng",
            "issue_date": "2025-05-20",
            "valid_until": "2025-11-16",
        }),
        DocumentKind::EHealthBook => {
            let mut book = crate::credential::kinds::e_health_book_tests::sample();
            book["holder_name"] = json!(HOLDER_NAME);
            book
        }
        civil => crate::credential::kinds::civil_tests::sample(civil),
    }
}

fn status() -> StatusRef {
    StatusRef {
        list: "https://status.example.invalid/1".into(),
        index: 42,
    }
}

fn issue_by(kind: DocumentKind, issuer: &IssuerKey) -> Vec<u8> {
    issue(
        kind,
        &document(kind),
        &holder(),
        Validity::starting(NOW, YEAR),
        &status(),
        issuer,
    )
    .unwrap()
}

/// Signs a credential whose `doc` (or any claim) was edited after validation.
fn issue_edited(kind: DocumentKind, edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let p = pki();
    let mut claims = format::claims(
        kind.as_str(),
        document(kind).to_cbor(),
        &holder(),
        Validity::starting(NOW, YEAR),
        &status(),
        p.issuer_of(kind),
    )
    .unwrap();
    let Value::Map(entries) = &mut claims else {
        panic!("claims are a map")
    };
    edit(entries);
    format::sign_payload(&claims, p.issuer_of(kind)).unwrap()
}

fn claim<'a>(entries: &'a mut [(Value, Value)], key: &str) -> &'a mut Value {
    &mut entries
        .iter_mut()
        .find(|(k, _)| *k == Value::Text(key.into()))
        .unwrap()
        .1
}

fn set(map: &mut Value, key: &str, value: Value) {
    let Value::Map(entries) = map else {
        panic!("a map")
    };
    *claim(entries, key) = value;
}

#[test]
fn every_kind_issues_and_verifies() {
    let p = pki();
    for kind in DocumentKind::ALL {
        let bytes = issue_by(kind, p.issuer_of(kind));
        let v = verify(&bytes, &p.trust, NOW).unwrap();
        assert_eq!(v.kind, kind);
        assert_eq!(v.document, document(kind));
        assert_eq!(v.holder_key, holder());
        assert_eq!(v.status, status());
        assert_eq!(v.id.len(), 32);
        assert_eq!(v.issuer_certificate, p.issuer_of(kind).certificate());
        let s = v.document.summary();
        assert_eq!((s.kind, s.title), (kind, kind.title()));
        assert_eq!(s.holder, HOLDER_NAME);
        assert_eq!(format::peek_kind(&bytes), Some(kind));
        // Deterministic: same inputs, same bytes (RFC 6979 signatures).
        assert_eq!(bytes, issue_by(kind, p.issuer_of(kind)));
        // No personal data in Debug output.
        let debug = format!("{v:?}");
        assert!(
            !debug.contains("Phạm") && !debug.contains("048185012345"),
            "{debug}"
        );
        assert!(!format!("{s:?}").contains("Phạm"));
    }
    let bhyt = document(DocumentKind::HealthInsurance).summary();
    assert_eq!(bhyt.valid_until, Some(d(2025, 12, 31)));
}

#[test]
fn validity_window() {
    let p = pki();
    for kind in DocumentKind::ALL {
        let bytes = issue_by(kind, p.issuer_of(kind));
        assert_eq!(
            verify(&bytes, &p.trust, NOW + YEAR).unwrap_err(),
            CredentialError::Expired
        );
        assert_eq!(
            verify(&bytes, &p.trust, NOW - 1).unwrap_err(),
            CredentialError::NotYetValid
        );
        assert!(verify(&bytes, &p.trust, NOW + YEAR - 1).is_ok());
        // Past the issuer certificate's validity: the issuer is no longer trusted.
        assert_eq!(
            verify(&bytes, &p.trust, 2_400_000_000).unwrap_err(),
            CredentialError::UntrustedIssuer
        );
    }
}

#[test]
fn wrong_and_untrusted_issuers() {
    let p = pki();
    for kind in DocumentKind::ALL {
        let wrong = issue_by(kind, p.wrong_issuer_of(kind));
        assert_eq!(
            verify(&wrong, &p.trust, NOW).unwrap_err(),
            CredentialError::IssuerNotAuthorised(kind)
        );
        let rogue = issue_by(kind, &p.rogue_police);
        assert_eq!(
            verify(&rogue, &p.trust, NOW).unwrap_err(),
            CredentialError::UntrustedIssuer
        );
        // Nothing is trusted by an empty list.
        assert_eq!(
            verify(&issue_by(kind, p.issuer_of(kind)), &TrustList::new(), NOW).unwrap_err(),
            CredentialError::UntrustedIssuer
        );
    }
    // The rogue police issuer has the genuine subject, so only the chain tells them apart.
    assert_eq!(p.rogue_police.name(), p.police.name());
    // A trust list with the root but no authorisations.
    let mut bare = TrustList::new();
    bare.add_ca_der(&p.root).unwrap();
    assert_eq!(
        verify(&issue_by(DocumentKind::Identity, &p.police), &bare, NOW).unwrap_err(),
        CredentialError::IssuerNotAuthorised(DocumentKind::Identity)
    );
}

#[test]
fn trust_list_round_trip_keeps_its_meaning() {
    let p = pki();
    let decoded = TrustList::decode(&p.trust.encode().unwrap()).unwrap();
    assert_eq!(decoded, p.trust);
    assert_eq!(decoded.ca_count(), 1);
    let bytes = issue_by(DocumentKind::HealthRecord, &p.health);
    assert!(verify(&bytes, &decoded, NOW).is_ok());
    let mut pem_list = TrustList::new();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64(&p.root)
            .as_bytes()
            .chunks(64)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(pem_list.add_ca_pem(&pem), Ok(1));
    pem_list
        .authorise(p.health.name(), &[DocumentKind::HealthRecord])
        .unwrap();
    assert!(verify(&bytes, &pem_list, NOW).is_ok());
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn tampering_is_detected() {
    let p = pki();
    let bytes = issue_by(DocumentKind::Identity, &p.police);
    // Flip one byte of the holder's name inside the payload.
    let at = bytes
        .windows(HOLDER_NAME.len())
        .position(|w| w == HOLDER_NAME.as_bytes())
        .unwrap();
    let mut t = bytes.clone();
    t[at] ^= 0x01;
    assert_eq!(
        verify(&t, &p.trust, NOW).unwrap_err(),
        CredentialError::BadSignature
    );
    // The last byte is in the signature.
    let mut t = bytes;
    *t.last_mut().unwrap() ^= 0x80;
    assert_eq!(
        verify(&t, &p.trust, NOW).unwrap_err(),
        CredentialError::BadSignature
    );
}

#[test]
fn every_single_byte_change_is_rejected() {
    let p = pki();
    let bytes = issue_by(DocumentKind::HealthInsurance, &p.social);
    assert!(bytes.len() < 1200, "{}", bytes.len());
    let mut tried = 0;
    for i in 0..bytes.len() {
        let original = bytes[i];
        let mut values: Vec<u8> = (0..8).map(|bit| original ^ (1 << bit)).collect();
        values.extend([
            0x00,
            0xFF,
            original.wrapping_add(1),
            original.wrapping_sub(1),
        ]);
        values.retain(|v| *v != original);
        values.sort_unstable();
        values.dedup();
        for v in values {
            let mut t = bytes.clone();
            t[i] = v;
            assert!(
                verify(&t, &p.trust, NOW).is_err(),
                "byte {i} set to {v:#04x} was accepted"
            );
            tried += 1;
        }
    }
    // Truncations and an appended byte.
    for len in 0..bytes.len() {
        assert!(verify(&bytes[..len], &p.trust, NOW).is_err());
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(verify(&longer, &p.trust, NOW).is_err());
    assert!(tried > 8 * bytes.len());
}

/// xorshift64*: a reproducible stream for mutation tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn parsers_never_panic_on_mutations() {
    let p = pki();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let seeds: Vec<Vec<u8>> = DocumentKind::ALL
        .iter()
        .map(|k| issue_by(*k, p.issuer_of(*k)))
        .chain([p.trust.encode().unwrap()])
        .collect();
    for round in 0..3000 {
        let mut t = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 => {
                    let i = rng.below(t.len());
                    t[i] = rng.next() as u8;
                }
                1 => t.truncate(rng.below(t.len())),
                2 => {
                    let i = rng.below(t.len());
                    t.insert(i, rng.next() as u8);
                }
                _ => {
                    let i = rng.below(t.len());
                    t.remove(i.min(t.len().saturating_sub(1)));
                }
            }
            if t.is_empty() {
                break;
            }
        }
        if t != seeds[round % seeds.len()] {
            assert!(verify(&t, &p.trust, NOW).is_err());
        }
        let _ = TrustList::decode(&t);
        let _ = format::peek_kind(&t);
        let _ = HealthRecord::from_json(&t);
        if let Some(v) = super::cbor::decode(&t) {
            for kind in DocumentKind::ALL {
                let _ = Document::from_cbor(kind, &v);
            }
        }
    }
    // Pure noise too.
    for _ in 0..500 {
        let t: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
        assert!(verify(&t, &p.trust, NOW).is_err());
        let _ = TrustList::decode(&t);
    }
}

fn invalid_field(bytes: &[u8]) -> String {
    match verify(bytes, &pki().trust, NOW) {
        Err(CredentialError::InvalidDocument(e)) => e.field,
        other => panic!("expected InvalidDocument, got {other:?}"),
    }
}

#[test]
fn bad_bhyt_codes_are_invalid_documents() {
    for (code, field) in [
        ("HT348012345678", "code"),
        ("Ht3480123456789", "code.group"),
        ("HT6480123456789", "code.benefit_level"),
        ("HT34A0123456789", "code.province"),
        ("HT348012345678X", "code.social_insurance_number"),
    ] {
        let bytes = issue_edited(DocumentKind::HealthInsurance, |c| {
            set(claim(c, "doc"), "code", Value::Text(code.into()));
        });
        assert_eq!(invalid_field(&bytes), field, "{code}");
        // The error never repeats the value.
        let message = verify(&bytes, &pki().trust, NOW).unwrap_err().to_string();
        assert!(!message.contains(code), "{message}");
    }
    // The issuer refuses to sign a broken card in the first place.
    let mut card = bhyt();
    card.valid_to = d(2024, 1, 1);
    let p = pki();
    assert!(matches!(
        issue(
            DocumentKind::HealthInsurance,
            &Document::HealthInsurance(card),
            &holder(),
            Validity::starting(NOW, YEAR),
            &status(),
            &p.social
        ),
        Err(IssueError::InvalidDocument(e)) if e.field == "valid_to"
    ));
}

#[test]
fn bad_health_records_are_invalid_documents() {
    let bundle_without = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut b = health_record::tests::ips();
        edit(&mut b);
        issue_edited(DocumentKind::HealthRecord, |c| {
            set(claim(c, "doc"), "bundle", Value::Text(b.to_string()));
        })
    };
    for (i, code) in ["10160-0", "48765-2", "11450-4"].iter().enumerate() {
        let bytes = bundle_without(&|b| {
            b["entry"][0]["resource"]["section"]
                .as_array_mut()
                .unwrap()
                .remove(i);
        });
        assert_eq!(
            invalid_field(&bytes),
            format!("Composition.section[{code}]")
        );
    }
    let bytes = bundle_without(&|b| {
        b["entry"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["resource"]["resourceType"] != "Immunization");
    });
    assert_eq!(invalid_field(&bytes), "Immunization");
    let bytes = bundle_without(&|b| {
        b["entry"][0]["resource"]["type"]["coding"][0]["code"] = "11503-0".into();
    });
    assert_eq!(invalid_field(&bytes), "Composition.type");
}

#[test]
fn other_invalid_documents() {
    let bytes = issue_edited(DocumentKind::DrivingLicence, |c| {
        set(claim(c, "doc"), "points", Value::from(13));
    });
    assert_eq!(invalid_field(&bytes), "points");
    let bytes = issue_edited(DocumentKind::Identity, |c| {
        set(
            claim(c, "doc"),
            "birth_date",
            Value::Text("1985-04-12".into()),
        );
    });
    assert_eq!(invalid_field(&bytes), "birth_date");
    // A licence document presented as an identity card.
    let bytes = issue_edited(DocumentKind::Identity, |c| {
        *claim(c, "doc") = document(DocumentKind::DrivingLicence).to_cbor();
    });
    assert_eq!(invalid_field(&bytes), "id_number");
}

#[test]
fn holder_key_is_required() {
    let p = pki();
    let bytes = issue_edited(DocumentKind::Identity, |c| {
        c.retain(|(k, _)| *k != Value::Text("cnf".into()))
    });
    assert_eq!(
        verify(&bytes, &p.trust, NOW).unwrap_err(),
        CredentialError::HolderKeyMissing
    );
    // A point that is not on the curve.
    let bytes = issue_edited(DocumentKind::Identity, |c| {
        let Value::Map(cnf) = claim(c, "cnf") else {
            panic!()
        };
        let Value::Map(key) = &mut cnf[0].1 else {
            panic!()
        };
        for (l, v) in key.iter_mut() {
            if *l == Value::from(-2) {
                *v = Value::Bytes(vec![1; 32]);
            }
        }
    });
    assert_eq!(
        verify(&bytes, &p.trust, NOW).unwrap_err(),
        CredentialError::HolderKeyMissing
    );
    assert_eq!(
        issue(
            DocumentKind::Identity,
            &document(DocumentKind::Identity),
            &[4; 65],
            Validity::starting(NOW, YEAR),
            &status(),
            &p.police
        ),
        Err(IssueError::BadHolderKey)
    );
}

#[test]
fn malformed_envelopes() {
    use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
    let p = pki();
    let good = issue_by(DocumentKind::Identity, &p.police);
    let malformed = |b: &[u8]| {
        matches!(
            verify(b, &p.trust, NOW),
            Err(CredentialError::MalformedEncoding(_))
        )
    };
    assert!(malformed(&good[1..]), "untagged");
    assert!(malformed(b""));
    let sign1 = coset::CoseSign1::from_tagged_slice(&good).unwrap();
    let rebuild = |protected: coset::Header, unprotected: coset::Header| {
        CoseSign1Builder::new()
            .protected(protected)
            .unprotected(unprotected)
            .payload(sign1.payload.clone().unwrap())
            .signature(sign1.signature.clone())
            .build()
            .to_tagged_vec()
            .unwrap()
    };
    let header = sign1.protected.header.clone();
    let mut es384 = header.clone();
    es384.alg = Some(coset::RegisteredLabelWithPrivate::Assigned(
        iana::Algorithm::ES384,
    ));
    assert!(malformed(&rebuild(es384, coset::Header::default())));
    let mut other_type = header.clone();
    other_type.content_type = Some(coset::ContentType::Text("application/cwt".into()));
    assert!(malformed(&rebuild(other_type, coset::Header::default())));
    let mut no_chain = header.clone();
    no_chain.rest.clear();
    assert!(malformed(&rebuild(no_chain, coset::Header::default())));
    let unprotected = HeaderBuilder::new().key_id(b"x".to_vec()).build();
    assert!(malformed(&rebuild(header.clone(), unprotected)));
    // The untouched envelope still verifies.
    assert!(verify(&rebuild(header, coset::Header::default()), &p.trust, NOW).is_ok());
    assert_eq!(CONTENT_TYPE, "application/vnd.vn-eid.credential+cbor");
}

#[test]
fn issuing_refuses_mismatches() {
    let p = pki();
    let doc = document(DocumentKind::Identity);
    let issue_with = |kind, validity, issuer: &IssuerKey| {
        issue(kind, &doc, &holder(), validity, &status(), issuer)
    };
    assert_eq!(
        issue_with(
            DocumentKind::HealthRecord,
            Validity::starting(NOW, YEAR),
            &p.police
        ),
        Err(IssueError::KindMismatch)
    );
    assert_eq!(
        issue_with(
            DocumentKind::Identity,
            Validity::starting(NOW, 0),
            &p.police
        ),
        Err(IssueError::BadValidity)
    );
    assert_eq!(
        IssuerKey::new(p.police.certificate().to_vec(), key(4)).unwrap_err(),
        IssueError::BadIssuerKey
    );
    assert!(!format!("{:?}", p.police).contains("key:"));
}
