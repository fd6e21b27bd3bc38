//! Printing helpers shared by the subcommands.

use serde::Serialize;
use std::io::Write;

/// Prints a value as pretty JSON on standard output. A closed pipe (`| head`) is not an error.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
        _ => Ok(()),
    }
}
