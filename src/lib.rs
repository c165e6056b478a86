//! halo-integrator: keeps HaloPSA in sync with the systems where people and devices live
//! (Microsoft Entra ID first), as a stateless job a Kubernetes CronJob starts.
//!
//! Layering (arrows point at what a layer may use; see docs/architecture.md):
//! `cli` (main.rs) → [`runner`] → [`imports`] → ([`sources`], [`sync`], [`halo`]) → [`http`];
//! [`config`] and [`metrics`]/[`telemetry`] are used throughout; [`tickets`] runs after the
//! imports; [`sim`] is the simulated Halo + Graph used by `demo`, `sim` and the tests. The
//! user-facing contracts are in docs/contracts.md.

pub mod check;
pub mod config;
pub mod demo;
pub mod halo;
pub mod http;
pub mod imports;
pub mod mapping;
pub mod metrics;
pub mod outcome;
pub mod process;
pub mod runner;
pub mod sim;
pub mod sources;
pub mod sync;
pub mod telemetry;
pub mod tickets;
pub mod token;
