//! What the commands share with the process they run in: the first SIGTERM/SIGINT, and
//! `/metrics` served for the length of a command.

use std::net::SocketAddr;

use tokio::signal::unix::{SignalKind, signal};

use crate::metrics::Metrics;
use crate::telemetry::serve::MetricsServer;

/// Serves `/metrics` at `addr` for the length of a run; a port that cannot be bound is
/// logged and the run goes on without it.
pub async fn metrics_server(addr: Option<SocketAddr>, metrics: &Metrics) -> Option<MetricsServer> {
    let addr = addr?;
    match MetricsServer::start(addr, metrics.clone()).await {
        Ok(server) => Some(server),
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot serve /metrics; continuing without it");
            None
        }
    }
}

/// Resolves to the number of the first SIGTERM (15) or SIGINT (2).
pub async fn first_signal() -> i32 {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => 15,
        _ = int.recv() => 2,
    }
}
