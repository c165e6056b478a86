//! Prometheus metrics of one run (docs/contracts.md, Metrics): one registry, owned by [`Metrics`] and
//! passed to whoever records — no global registry.

use prometheus::{
    CounterVec, Encoder, GaugeVec, HistogramOpts, HistogramVec, Opts, Registry, TextEncoder,
};

/// The metric families of docs/contracts.md, Metrics. Cheap to clone (the collectors are shared handles).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub import_last_run: GaugeVec,
    pub import_last_success: GaugeVec,
    pub import_success: GaugeVec,
    pub import_duration: GaugeVec,
    pub deactivations_withheld: GaugeVec,
    pub records: CounterVec,
    pub http_requests: CounterVec,
    pub http_duration: HistogramVec,
    pub http_retries: CounterVec,
    pub rate_limit_wait: CounterVec,
    pub tickets: CounterVec,
}

const PREFIX: &str = "halo_integrator";

/// The `action` values of `halo_integrator_records_total`.
pub const ACTIONS: &[&str] = &[
    "created",
    "updated",
    "deactivated",
    "unchanged",
    "skipped",
    "failed",
];

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help).namespace(PREFIX), labels)
        .expect("valid metric definition");
    registry
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> CounterVec {
    let c = CounterVec::new(Opts::new(name, help).namespace(PREFIX), labels)
        .expect("valid metric definition");
    registry
        .register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let build_info = gauge(
            &registry,
            "build_info",
            "Build information of the running halo-integrator.",
            &["version"],
        );
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1.0);
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Duration of HTTP requests to remote APIs, per attempt.",
            )
            .namespace(PREFIX)
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
            &["api"],
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(http_duration.clone()))
            .expect("metric registered once");
        Metrics {
            import_last_run: gauge(
                &registry,
                "import_last_run_timestamp_seconds",
                "Unix time at which the import last finished, successfully or not.",
                &["import"],
            ),
            import_last_success: gauge(
                &registry,
                "import_last_success_timestamp_seconds",
                "Unix time at which the import last finished successfully.",
                &["import"],
            ),
            import_success: gauge(
                &registry,
                "import_success",
                "1 if the last run of the import succeeded, else 0.",
                &["import"],
            ),
            import_duration: gauge(
                &registry,
                "import_duration_seconds",
                "Duration of the last run of the import.",
                &["import"],
            ),
            deactivations_withheld: gauge(
                &registry,
                "import_deactivations_withheld",
                "Deactivations a safety threshold withheld in the last run (exit 4 when > 0).",
                &["import"],
            ),
            records: counter(
                &registry,
                "records_total",
                "Records processed, by import, entity and action.",
                &["import", "entity", "action"],
            ),
            http_requests: counter(
                &registry,
                "http_requests_total",
                "HTTP requests to remote APIs (every attempt), by status.",
                &["api", "method", "status"],
            ),
            http_duration,
            http_retries: counter(
                &registry,
                "http_retries_total",
                "HTTP requests retried, by reason.",
                &["api", "reason"],
            ),
            rate_limit_wait: counter(
                &registry,
                "rate_limit_wait_seconds_total",
                "Time spent waiting for the client-side rate limiter.",
                &["api"],
            ),
            tickets: counter(
                &registry,
                "tickets_total",
                "Problem tickets in Halo (INTEGRATOR_HALO_TICKETS): opened, noted, recovered, failed, capped.",
                &["action"],
            ),
            registry,
        }
    }

    /// The registry in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding into memory cannot fail");
        String::from_utf8(buf).expect("the text format is UTF-8")
    }

    /// Creates the per-import series at zero, so that dashboards and alerts see a value
    /// (not an absent series) for actions that did not happen in this run.
    pub fn init_import(&self, import: &str, entity: &str) {
        for action in ACTIONS {
            self.records.with_label_values(&[import, entity, action]);
        }
        self.deactivations_withheld
            .with_label_values(&[import])
            .set(0.0);
    }

    /// The metrics of one import (`Some(name)`: series labelled `import=name`) or of the
    /// run as a whole (`None`: series without an `import` label), in text format — one
    /// Pushgateway group each.
    pub fn encode_import(&self, import: Option<&str>) -> String {
        let families: Vec<_> = self
            .registry
            .gather()
            .into_iter()
            .filter_map(|mut family| {
                let metrics: Vec<_> = family
                    .take_metric()
                    .into_iter()
                    .filter(|m| {
                        let label = m.get_label().iter().find(|l| l.name() == "import");
                        label.map(|l| l.value()) == import
                    })
                    .collect();
                (!metrics.is_empty()).then(|| {
                    family.set_metric(metrics);
                    family
                })
            })
            .collect();
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut buf)
            .expect("text encoding into memory cannot fail");
        String::from_utf8(buf).expect("the text format is UTF-8")
    }

    /// Total requests sent to `api` so far (every attempt), for run summaries.
    pub fn requests_to(&self, api: &str) -> u64 {
        self.registry
            .gather()
            .iter()
            .filter(|f| f.name() == "halo_integrator_http_requests_total")
            .flat_map(|f| f.get_metric())
            .filter(|m| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == "api" && l.value() == api)
            })
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
