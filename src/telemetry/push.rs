//! Pushes a run's metrics to a Prometheus Pushgateway (`INTEGRATOR_PUSHGATEWAY_URL`).
//!
//! One group per import (`job="halo-integrator"`, `import="<name>"`) with that import's
//! metrics, and one run-level group (`job="halo-integrator"`) with build info and HTTP
//! metrics; with sharding each group also carries `shard="<index>"`. Pushed with POST,
//! which replaces only the metric names sent: a failed run sends no
//! `..._last_success_timestamp_seconds`, so the previous success stays visible.

use url::Url;

use crate::config::Shard;
use crate::http::{Body, HttpClient, HttpError, Request};
use crate::metrics::Metrics;

pub const JOB: &str = "halo-integrator";

/// The grouping-key path of a group: `/metrics/job/<job>[/import/<name>][/shard/<i>]`.
pub fn group_url(base: &Url, import: Option<&str>, shard: Shard) -> Url {
    let mut url = base.clone();
    {
        let mut segments = url
            .path_segments_mut()
            .expect("validated as an http(s) URL");
        segments.pop_if_empty().extend(["metrics", "job", JOB]);
        if let Some(import) = import {
            segments.extend(["import", import]);
        }
        if shard.count > 1 {
            segments.extend(["shard", &shard.index.to_string()]);
        }
    }
    url
}

/// Pushes every group; returns the first error after trying them all.
pub async fn push(
    http: &HttpClient,
    base: &Url,
    metrics: &Metrics,
    imports: &[&str],
    shard: Shard,
) -> Result<(), HttpError> {
    let mut groups: Vec<(Option<&str>, String)> = imports
        .iter()
        .map(|import| (Some(*import), metrics.encode_import(Some(import))))
        .collect();
    groups.push((None, metrics.encode_import(None)));
    let mut first_error = None;
    for (import, body) in groups {
        let url = group_url(base, import, shard);
        let request = Request::post(
            url,
            "/metrics/job/{job}",
            Body::Text {
                content_type: "text/plain; version=0.0.4",
                body: &body,
            },
            true,
        );
        match http.send(request).await {
            Ok(_) => tracing::debug!(import = import.unwrap_or(""), "metrics pushed"),
            Err(e) => {
                tracing::error!(import = import.unwrap_or(""), error = %e, "pushing metrics failed");
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_keys_follow_the_pushgateway_url_scheme() {
        let base = Url::parse("http://pushgateway.monitoring:9091/").unwrap();
        let one = Shard { count: 1, index: 0 };
        assert_eq!(
            group_url(&base, Some("entra-users"), one).as_str(),
            "http://pushgateway.monitoring:9091/metrics/job/halo-integrator/import/entra-users"
        );
        assert_eq!(
            group_url(&base, None, Shard { count: 3, index: 2 }).as_str(),
            "http://pushgateway.monitoring:9091/metrics/job/halo-integrator/shard/2"
        );
        let prefixed = Url::parse("https://gw.example.com/push").unwrap();
        assert_eq!(
            group_url(&prefixed, Some("entra-users"), one).as_str(),
            "https://gw.example.com/push/metrics/job/halo-integrator/import/entra-users"
        );
    }
}
