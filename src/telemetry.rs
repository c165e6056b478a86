//! Logging: a `tracing` subscriber writing one JSON object per line (or human text) to
//! stderr, level from `RUST_LOG` (default `info`). Stdout is kept for the run summary
//! and plans.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

/// Installs the global subscriber. Called once, by `main`, before anything logs.
pub fn init(format: LogFormat) {
    install(format, "info");
}

/// For `demo`: text, warnings and errors only unless `RUST_LOG` says otherwise, so the
/// summary stays readable.
pub fn init_for_demo() {
    install(LogFormat::Text, "warn");
}

fn install(format: LogFormat, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE);
    // A second init (tests, demo after run) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}
