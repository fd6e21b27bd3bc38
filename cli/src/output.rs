//! Printing helpers shared by the subcommands: JSON on standard output, QR images, and the one
//! text an error is shown as.

use anyhow::{Context as _, Result};
use eid_core::present::QrImage;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Replaces `dir/name` with `bytes` (`dir` made if needed): written aside and renamed, so a
/// crash leaves the old copy or the new one, never half of one. For a desk's kept lists.
pub fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let path = dir.join(name);
    let part = dir.join(format!("{name}.part"));
    std::fs::write(&part, bytes)
        .and_then(|()| std::fs::rename(&part, &path))
        .with_context(|| path.display().to_string())
}

/// A file's bytes, or `None` when there is no such file.
pub fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(path.display().to_string())),
    }
}

/// A desk's exit status: 0 when every answer it checked was valid, 1 otherwise.
pub fn exit_code(valid: bool) -> std::process::ExitCode {
    if valid {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Prints a value as pretty JSON on standard output. A closed pipe (`| head`) is not an error.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    print_line(&serde_json::to_string_pretty(value)?)
}

/// Prints a value as JSON on one line of standard output (JSON Lines: a desk's verdicts one
/// after another), flushed at once.
pub fn print_json_line<T: Serialize>(value: &T) -> Result<()> {
    print_line(&serde_json::to_string(value)?)
}

fn print_line(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Writes a new file only its owner may read (a private key, a health record); an existing
/// file is never overwritten.
pub fn write_private(path: &Path, text: impl AsRef<[u8]>) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| {
        format!(
            "creating {} (an existing file is never overwritten)",
            path.display()
        )
    })?;
    f.write_all(text.as_ref())
        .with_context(|| format!("writing {}", path.display()))
}

/// Creates the directory `path` (and its parents) only its owner may enter.
pub fn private_dir(path: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// Pixels per QR module in PNG output.
const PNG_SCALE: usize = 6;

/// Writes the PNG / SVG files asked for.
pub fn write_images(qr: &QrImage, png: Option<&Path>, svg: Option<&Path>) -> Result<()> {
    if let Some(p) = png {
        let bytes = qr.to_png(PNG_SCALE)?;
        std::fs::write(p, bytes).with_context(|| p.display().to_string())?;
    }
    if let Some(p) = svg {
        std::fs::write(p, qr.to_svg(PNG_SCALE)).with_context(|| p.display().to_string())?;
    }
    Ok(())
}

/// An error with its causes, `outer: cause: cause` as anyhow's `{:#}` writes it, except that a
/// cause already in the text is not repeated: the core's and the backend's errors write their
/// source into their own message and also return it as `source()`.
pub fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that writes its source into its message and returns it too, as thiserror's
    /// `#[error("storage: {0}")] Store(#[from] E)` does.
    #[derive(Debug)]
    struct Storage(std::io::Error);

    impl std::fmt::Display for Storage {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "storage: {}", self.0)
        }
    }

    impl std::error::Error for Storage {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn disk_full() -> std::io::Error {
        std::io::Error::other("disk full")
    }

    #[test]
    fn shows_every_cause_once() {
        let plain: anyhow::Result<()> = Err(disk_full()).context("cannot write /tmp/x");
        let plain = plain.err().map(|e| error_text(&e));
        assert_eq!(plain.as_deref(), Some("cannot write /tmp/x: disk full"));

        let nested: anyhow::Result<()> = Err(Storage(disk_full())).context("sync");
        let nested = nested.err().map(|e| error_text(&e));
        assert_eq!(nested.as_deref(), Some("sync: storage: disk full"));

        let bare = anyhow::Error::new(Storage(disk_full()));
        assert_eq!(error_text(&bare), "storage: disk full");
    }
}
