//! Regression guard of the benchmark suite's request counts: the small scenarios
//! — 1,000 users with 1% changed, the same with nothing left to change, 1,000 devices with
//! 1% changed, and with 2% new (then nothing left to change) — against the simulator at Halo's page cap of 100 and Graph's 999. Request
//! counts are deterministic, so each must stay at or below the value recorded here, which is
//! the lower bound L (tokens + pages + link reports + write batches). Times are never
//! asserted.

mod common;

use common::*;
use halo_integrator::sim::{RequestRecord, Service, World};

/// (Halo requests, Graph and Entra token requests) of one run.
fn counts(requests: &[RequestRecord]) -> (usize, usize) {
    let halo = requests.iter().filter(|r| r.service.is_halo()).count();
    let graph = requests
        .iter()
        .filter(|r| matches!(r.service, Service::Graph | Service::EntraAuth))
        .count();
    (halo, graph)
}

async fn run_counted(sim: &Sim, env: &[(String, String)]) -> (usize, usize) {
    sim.clear_requests();
    let run = run(env, &["run"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    counts(&sim.requests())
}

fn assert_at_most(scenario: &str, measured: (usize, usize), recorded: (usize, usize)) {
    assert!(
        measured.0 <= recorded.0 && measured.1 <= recorded.1,
        "{scenario}: (Halo, Graph) requests grew from {recorded:?} to {measured:?}"
    );
}

#[tokio::test]
async fn users_1k_first_sync_and_no_change_stay_at_the_lower_bound() {
    let sim = start(World::synthetic(1, 1_000, 10, 0)).await;
    let env = env_for(&sim);
    // Halo: token + client page + 1 link report + 10 user pages + 1 update batch; Graph:
    // token + 2 pages.
    assert_at_most("users 1k", run_counted(&sim, &env).await, (14, 3));
    // Halo: token + client page + 1 link report + 10 user pages; nothing to write.
    assert_at_most(
        "users 1k, no change",
        run_counted(&sim, &env).await,
        (13, 3),
    );
}

#[tokio::test]
async fn devices_1k_stay_at_the_lower_bound() {
    let sim = start(World::synthetic_devices(2, 500, 5, 0)).await;
    let env = env_for_devices(&sim);
    // Halo: token + client page + asset types, per tenant 5 asset pages + 1 update batch (no
    // new device, so no user pages: the primary user is looked up for creates only); Graph:
    // per tenant a token and one page.
    assert_at_most("devices 1k", run_counted(&sim, &env).await, (15, 4));
}

#[tokio::test]
async fn devices_1k_with_new_devices_read_the_users_once_per_client() {
    let sim = start(World::synthetic_devices(2, 500, 5, 10)).await;
    let env = env_for_devices(&sim);
    // Halo: token + client page + asset types, per tenant 5 asset pages (490 in Halo) + 3
    // user pages (250 users, for the new devices' primary users) + 1 update and 1 create
    // batch; Graph: per tenant a token and one page.
    assert_at_most("devices 1k, new", run_counted(&sim, &env).await, (23, 4));
    // Nothing new: no user pages.
    assert_at_most(
        "devices 1k, no change",
        run_counted(&sim, &env).await,
        (13, 4),
    );
}
