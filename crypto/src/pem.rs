//! PEM (RFC 7468): the one reader of certificate files and texts.

/// Why a PEM text gave no certificate, or stopped giving them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemError {
    /// No `CERTIFICATE` block at all.
    NoCertificate,
    /// A block without its end line, or whose content does not decode.
    Malformed,
}

/// Passes the DER of every `CERTIFICATE` block of `pem` to `add`, in order, stopping at the
/// first error (blocks before it stay added); returns how many were added. `error` turns a PEM
/// problem into the caller's error.
pub fn for_each_certificate<E>(
    pem: &str,
    mut add: impl FnMut(&[u8]) -> Result<(), E>,
    error: impl Fn(PemError) -> E,
) -> Result<usize, E> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut count = 0;
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = rest.get(start..).unwrap_or_default();
        let end = after.find(END).ok_or_else(|| error(PemError::Malformed))? + END.len();
        let block = after.get(..end).unwrap_or_default();
        let (_, der) =
            der::pem::decode_vec(block.as_bytes()).map_err(|_| error(PemError::Malformed))?;
        add(&der)?;
        count += 1;
        rest = after.get(end..).unwrap_or_default();
    }
    if count == 0 {
        return Err(error(PemError::NoCertificate));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n";

    fn read(pem: &str) -> (Result<usize, PemError>, Vec<Vec<u8>>) {
        let mut seen = Vec::new();
        let r = for_each_certificate(
            pem,
            |der| {
                seen.push(der.to_vec());
                Ok(())
            },
            |e| e,
        );
        (r, seen)
    }

    #[test]
    fn reads_every_block_in_order() {
        let two = format!("junk before\n{ONE}between\n{}", ONE.replace("AQID", "BAUG"));
        assert_eq!(read(&two), (Ok(2), vec![vec![1, 2, 3], vec![4, 5, 6]]));
    }

    #[test]
    fn stops_at_the_first_bad_block_keeping_the_earlier_ones() {
        assert_eq!(read("nothing"), (Err(PemError::NoCertificate), vec![]));
        let unterminated = format!("{ONE}-----BEGIN CERTIFICATE-----\nAQID\n");
        assert_eq!(
            read(&unterminated),
            (Err(PemError::Malformed), vec![vec![1, 2, 3]])
        );
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert_eq!(read(bad), (Err(PemError::Malformed), vec![]));
        // The caller's own error stops the walk too.
        let mut n = 0;
        let r = for_each_certificate(
            &format!("{ONE}{ONE}"),
            |_| {
                n += 1;
                Err("refused")
            },
            |_| "pem",
        );
        assert_eq!((r, n), (Err("refused"), 1));
    }
}
