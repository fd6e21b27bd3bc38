//! An X.509 extension from any DER-encodable value, for the certificate profiles built here
//! (the mdoc IACA and document signer, the relying parties' access certificates).

use der::Encode;
use der::asn1::{ObjectIdentifier, OctetString};
use x509_cert::ext::Extension;

pub(crate) fn ext<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> x509_cert::builder::Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}
