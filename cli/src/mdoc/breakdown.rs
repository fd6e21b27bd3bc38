//! `eid mdoc sizes --breakdown`: where the bytes of one preset's DeviceResponse go, measured on
//! the encoded structures (a fixture mdoc, or one the backend issued as `eid wallet mdoc export`
//! writes it; the device signature is made by a stand-in P-256 key, the same 64 bytes as the
//! holder's): the response and document envelope, each disclosed IssuerSignedItem, and the
//! issuerAuth split into its COSE parts, the document signer certificate and the MSO's fields.

use anyhow::{Result, anyhow};
use ciborium::Value;
use eid_core::mdoc::{
    DeviceResponse, Document, IssuerSigned, ItemsRequest, SessionTranscript, respond,
};

fn encoded(v: &Value) -> usize {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for a Value built from decoded bytes.
    let _ = ciborium::into_writer(v, &mut out);
    out.len()
}

fn decode(bytes: &[u8]) -> Result<Value> {
    ciborium::from_reader(bytes).map_err(|e| anyhow!("CBOR: {e}"))
}

fn map_entry<'a>(m: &'a [(Value, Value)], key: &Value) -> Option<&'a Value> {
    m.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The MSO's docType of an IssuerSigned (not verified: only to pick the request preset).
pub fn doc_type(issued: &IssuerSigned) -> Result<String> {
    let mso = mso_bytes(&issued.issuer_auth)?;
    let Value::Map(m) = decode(&mso)? else {
        return Err(anyhow!("the MSO is not a map"));
    };
    map_entry(&m, &Value::from("docType"))
        .and_then(Value::as_text)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the MSO has no docType"))
}

/// The MSO inside an issuerAuth COSE_Sign1 (payload = #6.24(bstr .cbor MSO)).
fn mso_bytes(issuer_auth: &[u8]) -> Result<Vec<u8>> {
    let Value::Array(parts) = decode(issuer_auth)? else {
        return Err(anyhow!("issuerAuth is not an array"));
    };
    let Some(Value::Bytes(payload)) = parts.get(2) else {
        return Err(anyhow!("no MSO payload"));
    };
    let Value::Tag(24, inner) = decode(payload)? else {
        return Err(anyhow!("MSO is not tagged 24"));
    };
    let Value::Bytes(mso) = *inner else {
        return Err(anyhow!("MSO is not a bstr"));
    };
    Ok(mso)
}

/// The Document answering `items` from `issued` with a device signature by `device_key`.
pub fn signed_document(
    issued: &IssuerSigned,
    items: &ItemsRequest,
    transcript: &SessionTranscript,
    device_key: &p256::ecdsa::SigningKey,
) -> Result<Document> {
    respond(
        issued,
        &items.doc_type,
        items,
        transcript,
        |tbs: &[u8]| -> Result<Vec<u8>, std::convert::Infallible> {
            use p256::ecdsa::signature::Signer;
            let s: p256::ecdsa::Signature = device_key.sign(tbs);
            Ok(s.to_bytes().to_vec())
        },
    )
    .map_err(|_| anyhow!("device signature"))
}

/// (part, bytes) rows for the DeviceResponse answering `items` from `issued`.
pub fn rows(issued: &IssuerSigned, items: &ItemsRequest) -> Result<Vec<(String, usize)>> {
    let (device_key, _) = eid_core::mdoc::ephemeral_key(&mut eid_crypto::OsRng)?;
    let device_key = p256::ecdsa::SigningKey::from_slice(device_key.as_bytes())
        .map_err(|_| anyhow!("stand-in device key"))?;
    let transcript = SessionTranscript::without_engagement(Value::Null);
    let document = signed_document(issued, items, &transcript, &device_key)?;
    let response = DeviceResponse::ok(vec![document]).encode()?;
    let mut out = vec![("DeviceResponse".to_owned(), response.len())];

    let disclosed = eid_core::mdoc::disclose(issued, items);
    let issuer_signed = disclosed.encode()?;
    let issuer_auth = &disclosed.issuer_auth;
    let device_signed = {
        let Value::Map(top) = decode(&response)? else {
            return Err(anyhow!("DeviceResponse is not a map"));
        };
        let Some(Value::Array(docs)) = map_entry(&top, &Value::from("documents")) else {
            return Err(anyhow!("no documents"));
        };
        let Some(Value::Map(doc)) = docs.first() else {
            return Err(anyhow!("no document"));
        };
        encoded(&Value::from("deviceSigned"))
            + map_entry(doc, &Value::from("deviceSigned")).map_or(0, encoded)
    };
    out.push((
        "  envelope (version, documents, status, docType, issuerSigned keys)".into(),
        response.len() - issuer_signed.len() - device_signed,
    ));
    let items_total = issuer_signed.len() - issuer_auth.len();
    out.push((
        "  issuerSigned.nameSpaces (disclosed items, keys)".into(),
        items_total,
    ));
    for (_, list) in &disclosed.namespaces {
        for item in list {
            out.push((
                format!(
                    "    item {} (random {} B)",
                    item.element_identifier,
                    item.random.len()
                ),
                item.bytes.encoded().len(),
            ));
        }
    }
    out.push(("  issuerAuth (COSE_Sign1)".into(), issuer_auth.len()));
    let Value::Array(parts) = decode(issuer_auth)? else {
        return Err(anyhow!("issuerAuth is not an array"));
    };
    let [protected, unprotected, payload, signature] = parts.as_slice() else {
        return Err(anyhow!("issuerAuth is not a COSE_Sign1"));
    };
    out.push(("    protected header".into(), encoded(protected)));
    out.push((
        "    unprotected header (x5chain)".into(),
        encoded(unprotected),
    ));
    if let Value::Map(m) = unprotected
        && let Some(Value::Bytes(cert)) = map_entry(m, &Value::from(33))
    {
        out.push(("      document signer certificate (DER)".into(), cert.len()));
    }
    out.push((
        "    payload (MobileSecurityObjectBytes)".into(),
        encoded(payload),
    ));
    out.push(("    signature".into(), encoded(signature)));
    let mso = mso_bytes(issuer_auth)?;
    out.push(("      MSO".into(), mso.len()));
    if let Value::Map(m) = decode(&mso)? {
        for (k, v) in &m {
            let name = k.as_text().unwrap_or("?");
            let extra = match (name, v) {
                ("valueDigests", Value::Map(ns)) => {
                    let n: usize = ns
                        .iter()
                        .map(|(_, d)| match d {
                            Value::Map(d) => d.len(),
                            _ => 0,
                        })
                        .sum();
                    format!(" ({n} digests)")
                }
                _ => String::new(),
            };
            out.push((format!("        {name}{extra}"), encoded(k) + encoded(v)));
        }
    }
    out.push((
        "  deviceSigned (key, nameSpaces, deviceSignature)".into(),
        device_signed,
    ));
    Ok(out)
}
