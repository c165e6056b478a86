//! Telemetry of a run: logs (JSON or text, with trace and span ids), OpenTelemetry traces
//! exported over OTLP/HTTP, the `/metrics` endpoint and the Pushgateway push.
//!
//! The Prometheus registry itself lives in [`crate::metrics`]; this module only ships it.
//! The OTLP exporter is configured by the standard `OTEL_*` variables; without an endpoint
//! (or with `OTEL_SDK_DISABLED=true`) no exporter is installed. Whatever happens, the
//! tracer provider is flushed with a bounded wait before the process exits, and an
//! unreachable collector never fails or hangs the job.

pub mod push;
pub mod serve;

use std::fmt::Write as _;
use std::time::Duration;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::format::{FmtSpan, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// Default OTLP export timeout when `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT` is not set: the
/// SDK's 10 s would hold a finished job that long when the collector accepts and hangs.
const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for the final flush of spans at exit.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The installed telemetry; [`Telemetry::shutdown`] flushes it.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs logging and, when configured, the OTLP trace exporter. Call it outside the
/// async runtime (the exporter's HTTP client is a blocking one with its own thread).
/// `default_level` applies when `RUST_LOG` is unset.
pub fn init(format: LogFormat, default_level: &str) -> Telemetry {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let (provider, otel_error) = match otlp_provider() {
        Ok(provider) => (provider, None),
        Err(e) => (None, Some(e)),
    };
    let otel_layer = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("halo-integrator"))
            .with_tracked_inactivity(false)
    });
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE);
    let fmt = match format {
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .map_event_format(WithTraceIds)
            .boxed(),
        LogFormat::Text => fmt.with_target(false).boxed(),
    };
    // A second init (tests, demo) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel_layer)
        .try_init();
    if let Some(e) = otel_error {
        tracing::error!(error = %e, "OpenTelemetry exporter not installed; continuing without traces");
    }
    Telemetry { provider }
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// The tracer provider the `OTEL_*` environment asks for, if any.
fn otlp_provider() -> Result<Option<SdkTracerProvider>, String> {
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    if !env_set("OTEL_EXPORTER_OTLP_ENDPOINT") && !env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Ok(None);
    }
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
    if !env_set("OTEL_EXPORTER_OTLP_TIMEOUT") && !env_set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") {
        builder = builder.with_timeout(DEFAULT_EXPORT_TIMEOUT);
    }
    let exporter = builder.build().map_err(|e| e.to_string())?;
    let mut resource = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    if !env_set("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name("halo-integrator");
    }
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build(),
    ))
}

impl Telemetry {
    /// Flushes and stops the exporter, waiting at most a few seconds. Call it outside
    /// the async runtime, on every exit path.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
        {
            eprintln!("halo-integrator: flushing traces failed: {e}");
        }
    }
}

/// JSON event format with the OpenTelemetry `trace_id` and `span_id` of the current span
/// added, so log lines and traces can be joined.
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let context = tracing::Span::current().context();
        let span = context.span();
        let ids = span.span_context();
        match line.strip_prefix('{') {
            Some(rest) if ids.is_valid() => {
                let mut prefix = String::new();
                let _ = write!(
                    prefix,
                    "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",",
                    ids.trace_id(),
                    ids.span_id()
                );
                writer.write_str(&prefix)?;
                writer.write_str(rest)
            }
            _ => writer.write_str(&line),
        }
    }
}
