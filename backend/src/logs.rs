//! The log subscriber of `eid serve` (docs/adr/0030): human-readable lines or JSON lines, on a
//! writer of the caller's (standard error for the command, a buffer for the tests).
//!
//! JSON: one object per line with `timestamp`, `level`, `target`, `fields` (`message` and the
//! event's fields) and, for a line logged while a request runs, `span` with its `request_id`
//! (`http::request_context` opens that span). Nothing logged holds an ID number, phone, name,
//! code, passcode, token or key (tests/logs.rs).

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `2026-12-03T20:00:00Z  INFO request_id=… route=/v1/documents …: request`.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("the log format is text or json".into()),
        }
    }
}

/// A subscriber writing lines at `level` and above in `format` to `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    level: LevelFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync + 'static>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(writer)
        .with_ansi(false);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}
