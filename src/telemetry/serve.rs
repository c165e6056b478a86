//! The `/metrics`, `/healthz` and `/readyz` endpoints served while a run is in progress
//! (`INTEGRATOR_METRICS_ADDR`), for PodMonitor scrapes of long runs.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use tokio::sync::watch;

use crate::metrics::Metrics;

/// A running metrics server; dropping it (or [`MetricsServer::stop`]) stops it.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl MetricsServer {
    /// Binds `addr` and serves the registry of `metrics`.
    pub async fn start(addr: SocketAddr, metrics: Metrics) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let app = Router::new()
            .route(
                "/metrics",
                get(move || {
                    let body = metrics.encode();
                    async move {
                        (
                            [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                            body,
                        )
                    }
                }),
            )
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(|| async { "ok\n" }));
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "metrics server failed");
            }
        });
        tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
        Ok(MetricsServer { addr, stop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stop(self) {
        let _ = self.stop.send(true);
    }
}
