//! `eid mdoc sizes --floor`: how small a preset's DeviceResponse (the airport's by default)
//! can get, each way built and measured rather than estimated (docs/adr/0063). From the fixture
//! mdoc (issued as the backend issues it) the answer to the preset is built six ways, each
//! smaller than the one before: as issued with a device signature, then with a device MAC; from
//! an mdoc re-issued with only the requested elements (same values, device key, validity,
//! status entry and document signer), with a signature and with a MAC; that mdoc without its
//! status reference; and without x5chain. Each answer is then checked by our reader against the
//! fixture IACA.

use anyhow::{Result, anyhow};
use ciborium::Value;
use eid_core::mdoc::{
    DeviceEngagement, DeviceResponse, IssuerSigned, ItemsRequest, MsoSpec, MsoStatus,
    NamespaceElements, ReaderContext, SessionTranscript, Tagged24, check_device_response,
    check_issuer_signed, disclose, ephemeral_key, issue_mdoc_with_status, respond_with_mac,
};
use eid_crypto::{OsRng, SecretKey};
use eid_fixtures::mdoc::{MdocFixtures, NOW};

/// One way of building the answer.
#[derive(Debug)]
pub struct FloorRow {
    pub built_as: String,
    pub bytes: usize,
    /// Whether ISO/IEC 18013-5 and issue 15 allow it, and if not, what is given up.
    pub allowed: String,
    /// Whether our reader verifies it against the fixture IACA.
    pub verified: bool,
}

/// issuerAuth with an empty unprotected header (no x5chain).
fn without_x5chain(mut issued: IssuerSigned) -> Result<IssuerSigned> {
    let mut parts: Vec<Value> = ciborium::from_reader(issued.issuer_auth.as_slice())
        .map_err(|e| anyhow!("issuerAuth: {e}"))?;
    *parts
        .get_mut(1)
        .ok_or_else(|| anyhow!("issuerAuth is not a COSE_Sign1"))? = Value::Map(Vec::new());
    issued.issuer_auth.clear();
    ciborium::into_writer(&Value::Array(parts), &mut issued.issuer_auth)
        .map_err(|e| anyhow!("issuerAuth: {e}"))?;
    Ok(issued)
}

/// The six answers to `items` (a preset), measured and checked.
pub fn rows(fx: &MdocFixtures, items: &ItemsRequest) -> Result<Vec<FloorRow>> {
    let iacas = fx.iacas()?;
    let mdoc = fx
        .wallet
        .mdocs
        .iter()
        .find(|m| m.doc_type == items.doc_type)
        .ok_or_else(|| anyhow!("no fixture mdoc of {}", items.doc_type))?;
    let issued = &mdoc.issuer_signed;
    let device_key = mdoc.device_key();
    let device_private = SecretKey::new(device_key.to_bytes().to_vec());
    let verified = check_issuer_signed(issued, &items.doc_type, &iacas, NOW)?;

    // A real session: the MAC needs EReaderKey in the transcript (its curve is checked).
    let engagement = DeviceEngagement::new(ephemeral_key(&mut OsRng)?.1, vec![]);
    let (reader_private, reader_public) = ephemeral_key(&mut OsRng)?;
    let transcript = SessionTranscript::new(
        engagement.encoded(),
        Tagged24::of(&reader_public.to_cose()),
        Value::Null,
    );
    let ctx = ReaderContext {
        transcript: &transcript,
        iacas: &iacas,
        now: NOW,
        e_reader_private: Some(&reader_private),
    };
    let answer = |mdoc: &IssuerSigned, mac: bool| -> Result<(usize, bool)> {
        let document = if mac {
            respond_with_mac(
                mdoc,
                &items.doc_type,
                items,
                &transcript,
                &device_private,
                &reader_public,
            )?
        } else {
            super::breakdown::signed_document(mdoc, items, &transcript, device_key)?
        };
        let bytes = DeviceResponse::ok(vec![document]).encode()?;
        Ok((bytes.len(), check_device_response(&bytes, &ctx).is_ok()))
    };

    // The requested elements re-issued alone: same values, device key, validity and document
    // signer, with or without the status entry.
    let disclosed = disclose(issued, items);
    let namespaces: Vec<NamespaceElements> = disclosed
        .namespaces
        .iter()
        .map(|(ns, list)| {
            let values = list
                .iter()
                .map(|i| (i.element_identifier.clone(), i.element_value.clone()))
                .collect();
            (ns.clone(), values)
        })
        .collect();
    let spec = MsoSpec {
        doc_type: &items.doc_type,
        device_key: &verified.mso.device_key,
        validity: verified.mso.validity,
    };
    let ds = &fx.iaca.document_signer;
    let reissue = |status: Option<MsoStatus>| {
        issue_mdoc_with_status(
            &spec,
            status,
            &namespaces,
            ds.certificate(),
            &mut OsRng,
            |tbs| ds.sign_raw(tbs),
        )
        .map_err(|_| anyhow!("re-issuing the mdoc"))
    };
    let requested: usize = disclosed.namespaces.iter().map(|(_, l)| l.len()).sum();
    let minimal = reissue(verified.mso.status.clone())?;
    let no_status = reissue(None)?;
    let no_x5chain = without_x5chain(no_status.clone())?;

    let carried = verified.mso.value_digests.len();
    let (label, kind) = match items.doc_type.as_str() {
        eid_fixtures::mdoc::MDL => ("mDL", "purpose"),
        eid_fixtures::mdoc::BHYT => ("BHYT card", "purpose"),
        _ => ("PhotoID", "travel"),
    };
    let purpose =
        format!("18013-5: yes; the issue: yes, if a {kind} mdoc is issued beside the {label}");
    let ways: [(String, &IssuerSigned, bool, String); 6] = [
        (
            format!("{label} as issued ({carried} elements), device signature"),
            issued,
            false,
            "yes".into(),
        ),
        (
            format!("{label} as issued, device MAC"),
            issued,
            true,
            "yes".into(),
        ),
        (
            format!("mdoc of the {requested} requested elements only, device signature"),
            &minimal,
            false,
            purpose.clone(),
        ),
        (
            format!("mdoc of the {requested} requested elements only, device MAC"),
            &minimal,
            true,
            purpose,
        ),
        (
            "the same without the status reference, device MAC".into(),
            &no_status,
            true,
            "18013-5: yes; the issue: no (no revocation)".into(),
        ),
        (
            "the same without x5chain, device MAC".into(),
            &no_x5chain,
            true,
            "no: 18013-5 §9.1.2.4 requires x5chain".into(),
        ),
    ];
    ways.into_iter()
        .map(|(built_as, mdoc, mac, allowed)| {
            let (bytes, verified) = answer(mdoc, mac)?;
            Ok(FloorRow {
                built_as,
                bytes,
                allowed,
                verified,
            })
        })
        .collect()
}
