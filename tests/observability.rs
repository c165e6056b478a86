//! Observability against real components: a real Pushgateway scraped by a real
//! Prometheus (Debian packages, installed by `./scripts/test`), `promtool check metrics`
//! on the live `/metrics` endpoint, every query of the shipped Grafana dashboard run
//! against that Prometheus, and an OTLP/HTTP receiver decoding the protobuf the binary
//! exports.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use common::*;
use halo_integrator::sim::{Fault, FaultKind, Service, World};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::Value;

/// A started server process, killed when dropped.
struct Component {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Component {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_component(
    program: &str,
    args: &[String],
    dir: tempfile::TempDir,
    url: String,
) -> Component {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{program} must be installed (./scripts/test installs it): {e}")
        });
    Component {
        child,
        url,
        _dir: dir,
    }
}

/// Polls `url` until it answers 2xx (components take a moment to start).
async fn wait_ready(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not become ready within 30 s");
}

async fn pushgateway() -> Component {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let pg = spawn_component(
        "prometheus-pushgateway",
        &[format!("--web.listen-address=127.0.0.1:{port}")],
        dir,
        format!("http://127.0.0.1:{port}"),
    );
    wait_ready(&format!("{}/-/ready", pg.url)).await;
    pg
}

async fn prometheus(pushgateway: &Component) -> Component {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['{}']\n",
            pushgateway.url.trim_start_matches("http://")
        ),
    )
    .unwrap();
    let args = vec![
        format!("--config.file={}", config.display()),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
    ];
    let prom = spawn_component("prometheus", &args, dir, format!("http://127.0.0.1:{port}"));
    wait_ready(&format!("{}/-/ready", prom.url)).await;
    prom
}

/// Runs an instant query; returns the result vector.
async fn query(prom: &Component, promql: &str) -> Vec<Value> {
    let resp: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/query", prom.url))
        .query(&[("query", promql)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["status"], "success", "{promql}: {resp}");
    resp["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sample(result: &[Value]) -> Option<f64> {
    result.first()?["value"][1].as_str()?.parse().ok()
}

/// Polls `promql` until `accept` holds for its single value (Prometheus scrapes the
/// Pushgateway every second; a push is visible after the next scrape).
async fn eventually(prom: &Component, promql: &str, accept: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..200 {
        if let Some(v) = sample(&query(prom, promql).await).filter(|v| accept(*v)) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{promql} never reached the expected value; last result: {:?}",
        query(prom, promql).await
    );
}

/// `total: created=N ...` from the run summary.
fn total(stdout: &str, key: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("total:"))
        .expect("summary");
    let value = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap();
    value.parse().unwrap()
}

#[tokio::test]
async fn pushed_metrics_reach_prometheus_and_every_dashboard_query_has_data() {
    let pg = pushgateway().await;
    let prom = prometheus(&pg).await;
    let sim = start(World::demo()).await;
    let mut env = env_for(&sim);
    set(&mut env, "INTEGRATOR_PUSHGATEWAY_URL", &pg.url);
    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");

    let ok = run(&env, &["run"]).await;
    assert_eq!(ok.code, 0, "{ok:?}");
    let success = r#"halo_integrator_import_success{job="halo-integrator",import="entra-users"}"#;
    eventually(&prom, success, |v| v == 1.0).await;
    let created =
        r#"halo_integrator_records_total{import="entra-users",entity="user",action="created"}"#;
    assert_eq!(
        sample(&query(&prom, created).await),
        Some(total(&ok.stdout, "created"))
    );
    let deactivated = r#"halo_integrator_records_total{import="entra-users",action="deactivated"}"#;
    assert_eq!(
        sample(&query(&prom, deactivated).await),
        Some(total(&ok.stdout, "deactivated"))
    );
    let last_success =
        r#"halo_integrator_import_last_success_timestamp_seconds{import="entra-users"}"#;
    let succeeded_at = sample(&query(&prom, last_success).await).expect("last success pushed");
    let requests = r#"sum(halo_integrator_http_requests_total{job="halo-integrator",api="halo"})"#;
    assert!(sample(&query(&prom, requests).await).unwrap() > 0.0);

    // Every panel of the shipped dashboard returns data for this run.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string("deploy/grafana/halo-integrator.json").unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$import", ".*")
                .replace("$__rate_interval", "1m");
            let result = query(&prom, &expr).await;
            assert!(
                !result.is_empty(),
                "panel '{}' has no data: {expr}",
                panel["title"]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 10);

    // A failed run: Halo answers 502 to everything. The push records the failure and
    // keeps the previous Last Sync.
    sim.inject(
        Fault::new(
            halo_integrator::sim::Target::service(Service::HaloApi),
            FaultKind::Html { status: 502 },
        )
        .always(),
    );
    let failed = run(&env, &["run"]).await;
    assert_eq!(failed.code, 1, "{failed:?}");
    eventually(&prom, success, |v| v == 0.0).await;
    assert_eq!(
        sample(&query(&prom, last_success).await),
        Some(succeeded_at)
    );
    let last_run = r#"halo_integrator_import_last_run_timestamp_seconds{import="entra-users"}"#;
    assert!(sample(&query(&prom, last_run).await).unwrap() > succeeded_at);
}

#[tokio::test]
async fn an_unreachable_pushgateway_changes_nothing() {
    let sim = start(World::synthetic(1, 5, 0, 1)).await;
    let mut env = env_for(&sim);
    set(
        &mut env,
        "INTEGRATOR_PUSHGATEWAY_URL",
        &format!("http://127.0.0.1:{}", free_port()),
    );
    set(&mut env, "INTEGRATOR_RETRY_MAX_ATTEMPTS", "2");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("pushing metrics failed"), "{out:?}");
}

#[tokio::test]
async fn metrics_endpoint_serves_while_running_and_passes_promtool() {
    let sim = start(World::synthetic(1, 20, 2, 2)).await;
    // Slow Halo reads keep the job running while the endpoint is scraped.
    sim.inject(Fault::halo_api(
        "GET",
        "/api/Users",
        FaultKind::Delay { ms: 1500 },
    ));
    let port = free_port();
    let mut env = env_for(&sim);
    set(
        &mut env,
        "INTEGRATOR_METRICS_ADDR",
        &format!("127.0.0.1:{port}"),
    );
    let child = spawn(&env, &["run"]);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/healthz")).await;
    let http = reqwest::Client::new();
    assert!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    // Scrape until the first Halo requests are counted (the slow user read then keeps
    // the job alive).
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("halo_integrator_http_requests_total{api=\"halo\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        metrics.contains("halo_integrator_build_info{version=\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("halo_integrator_http_requests_total{api=\"halo\""),
        "{metrics}"
    );
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (./scripts/test installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let lint = promtool.wait_with_output().unwrap();
    assert!(
        lint.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

/// A span as the receiver saw it.
#[derive(Debug, Clone)]
struct SpanSeen {
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent: Vec<u8>,
    attributes: HashMap<String, String>,
}

/// An OTLP/HTTP receiver: decodes `ExportTraceServiceRequest` protobuf from
/// `POST /v1/traces`, keeps the spans and resource attributes.
struct Receiver {
    url: String,
    spans: Arc<Mutex<Vec<SpanSeen>>>,
    resource: Arc<Mutex<HashMap<String, String>>>,
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

async fn otlp_receiver() -> Receiver {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let resource = Arc::new(Mutex::new(HashMap::new()));
    let (s, r) = (spans.clone(), resource.clone());
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let (spans, resource) = (s.clone(), r.clone());
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("valid OTLP protobuf");
                for rs in request.resource_spans {
                    for kv in rs.resource.map(|r| r.attributes).unwrap_or_default() {
                        resource.lock().unwrap().insert(kv.key, text(&kv.value));
                    }
                    for ss in rs.scope_spans {
                        for span in ss.spans {
                            spans.lock().unwrap().push(SpanSeen {
                                name: span.name,
                                trace_id: span.trace_id,
                                span_id: span.span_id,
                                parent: span.parent_span_id,
                                attributes: span
                                    .attributes
                                    .into_iter()
                                    .map(|kv| (kv.key, text(&kv.value)))
                                    .collect(),
                            });
                        }
                    }
                }
                (
                    [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url,
        spans,
        resource,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn traces_reach_an_otlp_receiver_with_the_span_tree_and_no_secret() {
    let receiver = otlp_receiver().await;
    let sim = start(World::synthetic(2, 30, 3, 3)).await;
    let mut env = env_for(&sim);
    set(&mut env, "OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url);
    set(
        &mut env,
        "OTEL_RESOURCE_ATTRIBUTES",
        "k8s.namespace.name=psa,k8s.cronjob.name=halo-integrator",
    );
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");

    // The provider was flushed before exit: everything is here now.
    let spans = receiver.spans.lock().unwrap().clone();
    let by_name = |name: &str| {
        spans
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    let root = by_name("run");
    assert_eq!(
        root.len(),
        1,
        "one root span: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let root = &root[0];
    assert!(root.parent.is_empty());
    assert!(
        spans.iter().all(|s| s.trace_id == root.trace_id),
        "one trace per run"
    );
    let import = &by_name("import")[0];
    assert_eq!(import.parent, root.span_id);
    assert_eq!(import.attributes["import"], "entra-users");
    let tenants = by_name("tenant");
    assert_eq!(tenants.len(), 2);
    for phase in ["read_source", "read_halo", "plan", "apply"] {
        let phases = by_name(phase);
        assert_eq!(phases.len(), 2, "{phase} per tenant");
        assert!(
            phases
                .iter()
                .all(|p| tenants.iter().any(|t| t.span_id == p.parent)),
            "{phase} under a tenant"
        );
    }
    // HTTP spans are named "<METHOD> <route template>" (OpenTelemetry's convention).
    let requests: Vec<SpanSeen> = spans
        .iter()
        .filter(|s| s.attributes.contains_key("url.template"))
        .cloned()
        .collect();
    assert!(requests.iter().all(|r| r.name
        == format!(
            "{} {}",
            r.attributes["http.request.method"], r.attributes["url.template"]
        )));
    let parent_of = |s: &SpanSeen| {
        spans
            .iter()
            .find(|p| p.span_id == s.parent)
            .map(|p| p.name.clone())
    };
    assert!(
        requests
            .iter()
            .any(|r| parent_of(r).as_deref() == Some("read_source"))
    );
    assert!(
        requests
            .iter()
            .any(|r| parent_of(r).as_deref() == Some("apply"))
    );
    for r in &requests {
        assert!(r.attributes.contains_key("http.request.method"), "{r:?}");
        assert!(r.attributes["url.template"].starts_with('/'), "{r:?}");
        assert!(
            !r.attributes["url.template"].contains('?'),
            "route template, not a URL: {r:?}"
        );
        assert!(
            r.attributes.contains_key("http.response.status_code"),
            "{r:?}"
        );
    }
    let resource = receiver.resource.lock().unwrap().clone();
    assert_eq!(resource["service.name"], "halo-integrator");
    assert_eq!(resource["k8s.namespace.name"], "psa");

    // No secret or token in any attribute.
    let creds = sim.world().credentials;
    let secrets: Vec<String> = [creds.halo_client_secret, creds.entra_client_secret]
        .into_iter()
        .chain(sim.issued_tokens())
        .collect();
    for s in &spans {
        for value in s.attributes.values() {
            assert!(
                !secrets.iter().any(|secret| value.contains(secret.as_str())),
                "secret in span {s:?}"
            );
        }
    }

    // Log lines carry the trace id of the run.
    let trace = hex(&root.trace_id);
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains(&format!("\"trace_id\":\"{trace}\""))),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_failing_run_still_exports_its_spans_and_a_dead_collector_never_fails_the_job() {
    let receiver = otlp_receiver().await;
    let sim = start(World::synthetic(1, 5, 0, 0)).await;
    let mut env = env_for(&sim);
    set(&mut env, "OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url);
    set(&mut env, "HALO_CLIENT_SECRET", "wrong-secret");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let spans = receiver.spans.lock().unwrap().clone();
    let token = spans
        .iter()
        .find(|s| s.name == "POST /auth/token")
        .unwrap_or_else(|| panic!("token request span exported: {spans:?}"));
    assert_eq!(token.attributes["http.response.status_code"], "401");
    assert!(spans.iter().any(|s| s.name == "run"));

    let mut env = env_for(&sim);
    set(
        &mut env,
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        &format!("http://127.0.0.1:{}", free_port()),
    );
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
}
