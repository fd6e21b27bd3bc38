//! SecurityInfos (EF.CardAccess, DG14) and DG15 parsing over arbitrary bytes: never panics, and
//! neither do the accessors and re-encoding of what parsed.

use eid_icao::aa;
use eid_icao::security_info::SecurityInfos;

fn exercise(infos: &SecurityInfos) {
    for p in infos.pace() {
        let _ = (
            p.protocol(),
            p.cipher(),
            p.curve(),
            p.group(),
            p.is_supported(),
        );
        if let Some(proto) = p.protocol() {
            let _ = proto.oid();
        }
    }
    let _ = infos.best_pace();
    let _ = infos.pace_preference();
    for c in infos.chip_authentication() {
        let _ = (c.algorithm(), c.cipher());
    }
    for k in infos.chip_authentication_keys() {
        let _ = (k.ec_public_key(), k.agreement(), k.public_key());
    }
    if let Some(a) = infos.active_authentication() {
        let _ = a.hash();
    }
    // What parsed encodes, and the encoding parses again.
    if let Ok(bytes) = infos.encode() {
        let _ = SecurityInfos::parse(&bytes);
    }
    if let Ok(bytes) = infos.encode_dg14() {
        let _ = SecurityInfos::parse_dg14(&bytes);
    }
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(infos) = SecurityInfos::parse(data) {
        exercise(&infos);
    }
    if let Ok(infos) = SecurityInfos::parse_dg14(data) {
        exercise(&infos);
    }
    if let Ok(key) = aa::parse_dg15(data) {
        for explicit in [false, true] {
            if let Ok(bytes) = aa::encode_dg15(&key, explicit) {
                let _ = aa::parse_dg15(&bytes);
            }
        }
    }
}
