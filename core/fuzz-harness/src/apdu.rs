//! Command and response APDU parsing over arbitrary bytes: never panics, and a parsed command
//! encodes to bytes that parse to the same command.

use eid_icao::apdu::{CommandApdu, ResponseApdu};

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(cmd) = CommandApdu::parse(data) {
        let bytes = cmd.to_bytes();
        let again = CommandApdu::parse(&bytes).expect("encoded command parses");
        assert_eq!(again, cmd);
        assert_eq!(
            cmd.needs_extended(),
            bytes.len() > 4 && bytes[4] == 0 && bytes.len() > 5
        );
    }
    if let Ok(resp) = ResponseApdu::parse(data) {
        assert_eq!(resp.to_bytes(), data);
    }
}
