//! BER-TLV reading over arbitrary bytes: never panics, and what it reads encodes back to an
//! object that reads the same.

use eid_crypto::tlv;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(h) = tlv::read_header(data) {
        assert!(h.header_len <= data.len());
        let _ = h.total_len();
    }
    if let Ok((t, rest)) = tlv::read(data) {
        assert!(t.value.len() + rest.len() < data.len());
        let again = tlv::encode(t.tag, t.value);
        let (u, tail) = tlv::read(&again).expect("re-encoded TLV reads back");
        assert_eq!((u.tag, u.value, tail.len()), (t.tag, t.value, 0));
    }
    let _ = tlv::read_exact(data, 0x61);
    // Walk everything, nested objects included, as the LDS parsers do.
    let mut stack = vec![tlv::Iter::new(data)];
    let mut seen = 0usize;
    while let Some(it) = stack.last_mut() {
        match it.next() {
            Some(Ok(t)) => {
                seen += 1;
                if t.is_constructed() && stack.len() < 32 {
                    stack.push(t.children());
                }
            }
            Some(Err(_)) | None => {
                stack.pop();
            }
        }
    }
    assert!(seen <= data.len());
    let _ = tlv::Iter::new(data).find(0x5F1F);
    let _ = tlv::Iter::new(data).require(0x77);
}
