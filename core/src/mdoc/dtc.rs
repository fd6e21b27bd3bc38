//! The DTC part of a PhotoID (namespace `org.iso.23220.dtc.1`): the chip's EF.SOD and data
//! groups as the issuer copied them from the card, so a reader can redo ICAO 9303-11 passive
//! authentication offline: each disclosed data group hashes to its value in the SOD, the SOD is
//! signed by its document signer, and (given the CSCAs) that signer is a trusted country's.
//! The MSO's digests already prove the bytes are the mdoc issuer's; this proves they are the
//! chip's issuer's too. The checks are eid-icao's (`document::passive_authentication`).

use super::check::VerifiedDocument;
use super::doctypes::DTC_NAMESPACE;
use super::error::CheckError;
use super::reader_session::ReaderOutcome;
use ciborium::Value;
use eid_crypto::trust::TrustStore;
use eid_icao::document::passive_authentication;
use eid_icao::lds::LdsFile;
use eid_icao::pa::{PaStatus, PassiveAuthentication};
use std::collections::BTreeMap;

/// Passive authentication over the DTC elements `doc` disclosed: `None` when it disclosed
/// none; not checked when it disclosed data groups without the SOD (or the SOD alone).
pub fn dtc_passive_authentication(
    doc: &VerifiedDocument,
    cscas: Option<&TrustStore>,
) -> Option<PassiveAuthentication> {
    of_elements(&doc.elements, cscas)
}

fn of_elements(
    elements: &[(String, String, Value)],
    cscas: Option<&TrustStore>,
) -> Option<PassiveAuthentication> {
    let mut files = BTreeMap::new();
    for (ns, id, value) in elements {
        let (DTC_NAMESPACE, Value::Bytes(bytes)) = (ns.as_str(), value) else {
            continue;
        };
        let file = match id.as_str() {
            "sod" => LdsFile::Sod,
            dg => match dg.strip_prefix("dg").and_then(|n| n.parse::<u8>().ok()) {
                Some(n @ 1..=16) => LdsFile::Dg(n),
                _ => continue,
            },
        };
        files.insert(file, bytes.clone());
    }
    if files.is_empty() {
        return None;
    }
    if !files.keys().any(|f| matches!(f, LdsFile::Dg(_))) {
        return Some(PassiveAuthentication::not_checked(
            "no data group disclosed with EF.SOD",
        ));
    }
    Some(passive_authentication(&files, cscas))
}

/// What passive authentication says of the first verified document in `outcome` that
/// disclosed DTC data (`None`: none did, or no verified response).
pub fn dtc_of(
    outcome: &ReaderOutcome,
    cscas: Option<&TrustStore>,
) -> Option<PassiveAuthentication> {
    let ReaderOutcome::Response(Ok(docs)) = outcome else {
        return None;
    };
    docs.iter()
        .find_map(|d| dtc_passive_authentication(d, cscas))
}

/// `outcome` with the DTC of every verified document checked: data that fails passive
/// authentication (a data group not matching the SOD, a SOD whose signature does not verify,
/// a document signer no given CSCA issued) makes the response that failure.
pub fn check_dtc(outcome: ReaderOutcome, cscas: Option<&TrustStore>) -> ReaderOutcome {
    let ReaderOutcome::Response(Ok(docs)) = outcome else {
        return outcome;
    };
    for d in &docs {
        if let Some(pa) = dtc_passive_authentication(d, cscas)
            && pa.status == PaStatus::Invalid
        {
            return ReaderOutcome::Response(Err(CheckError::DtcPassiveAuthentication(pa.reason)));
        }
    }
    ReaderOutcome::Response(Ok(docs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid_fixtures::citizens::citizens;
    use eid_fixtures::lds::{build_sod, data_groups};
    use eid_fixtures::pki::TestPki;

    fn dtc(files: &[(&str, Vec<u8>)]) -> Vec<(String, String, Value)> {
        files
            .iter()
            .map(|(id, b)| {
                (
                    DTC_NAMESPACE.to_owned(),
                    (*id).to_owned(),
                    Value::Bytes(b.clone()),
                )
            })
            .collect()
    }

    #[test]
    fn the_chip_data_is_checked_against_its_sod_and_csca() {
        let pki = TestPki::new().unwrap();
        let c = &citizens()[0];
        let dgs = data_groups(c).unwrap();
        let sod = build_sod(&dgs, &pki.dsc).unwrap();
        let mut cscas = TrustStore::new();
        cscas.add_pem(&pki.csca.pem().unwrap()).unwrap();
        let mut other = TrustStore::new();
        other.add_pem(&pki.untrusted_csca.pem().unwrap()).unwrap();
        let dg1 = dgs[&1].clone();
        let good = dtc(&[
            ("version", vec![]),
            ("sod", sod.clone()),
            ("dg1", dg1.clone()),
        ]);

        let pa = of_elements(&good, Some(&cscas)).unwrap();
        assert_eq!(pa.status, PaStatus::Valid, "{}", pa.reason);
        // Without CSCAs: hashes and signature checked, the chain not.
        let pa = of_elements(&good, None).unwrap();
        assert_eq!(pa.status, PaStatus::NotChecked, "{}", pa.reason);
        // A CSCA that did not issue the document signer.
        let pa = of_elements(&good, Some(&other)).unwrap();
        assert_eq!(pa.status, PaStatus::Invalid, "{}", pa.reason);
        // A data group that is not the one the SOD names (one byte changed).
        let mut changed = dg1.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        let pa = of_elements(
            &dtc(&[("sod", sod.clone()), ("dg1", changed)]),
            Some(&cscas),
        );
        assert_eq!(pa.unwrap().status, PaStatus::Invalid);
        // Nothing of the DTC disclosed: nothing to say; the SOD alone: not checked.
        assert!(of_elements(&[], Some(&cscas)).is_none());
        let pa = of_elements(&dtc(&[("sod", sod)]), Some(&cscas)).unwrap();
        assert_eq!(pa.status, PaStatus::NotChecked);
        // Other namespaces and non-byte values are not chip files.
        let other_ns = vec![(
            "org.iso.23220.1".to_owned(),
            "dg1".to_owned(),
            Value::Bytes(dg1),
        )];
        assert!(of_elements(&other_ns, Some(&cscas)).is_none());
    }
}
