//! End-to-end test of sharding (a Kubernetes Indexed Job): three shard processes started
//! at the same time against one simulator, each with a third of the Halo rate budget, reach
//! exactly the state one unsharded run reaches, without duplicates, and together never
//! exceed Halo's rate limit as the simulator measures it.

mod common;

use std::time::Duration;

use common::*;
use halo_integrator::config::Shard;
use halo_integrator::sim::{EntraUser, ManagedDevice, RequestRecord, SimOptions, World};

const LIMIT: usize = 60;
const WINDOW: Duration = Duration::from_secs(10);
const SHARDS: u32 = 3;

/// 9 tenants, each with users and devices to create and update (both imports).
fn world() -> World {
    let mut w = World::synthetic_devices(9, 40, 3, 5);
    for (t, tenant) in w.entra.tenants.iter_mut().enumerate() {
        for u in tenant.users.iter_mut().take(2) {
            u.job_title = Some("Head of Things".into());
        }
        for n in 0..3 {
            let upn = format!("hire{n}@tenant{t}.example");
            tenant.users.push(EntraUser::member(
                &format!("{t:08x}-aaaa-4000-8000-{n:012x}"),
                "New",
                &format!("Hire{n}"),
                &upn,
            ));
            tenant.devices.push(ManagedDevice::laptop(
                &format!("{t:08x}-dddd-4000-8000-{n:012x}"),
                &format!("T{t}-HIRE{n}"),
                &format!("SN-HIRE-{t}-{n}"),
                Some(&upn),
            ));
        }
    }
    w
}

fn env(sim: &halo_integrator::sim::Simulator) -> Vec<(String, String)> {
    let mut env = env_for_devices(sim);
    set(&mut env, "INTEGRATOR_IMPORTS", "entra-users,intune-devices");
    set(&mut env, "HALO_RATE_LIMIT_REQUESTS", &LIMIT.to_string());
    set(
        &mut env,
        "HALO_RATE_LIMIT_WINDOW_SECONDS",
        &WINDOW.as_secs().to_string(),
    );
    set(&mut env, "HALO_BATCH_SIZE", "10");
    env
}

/// The most Halo requests the simulator received in any window.
fn busiest_window(requests: &[RequestRecord]) -> usize {
    let mut at: Vec<_> = requests
        .iter()
        .filter(|r| r.service.is_halo())
        .map(|r| r.at)
        .collect();
    at.sort();
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|t| **t - at[i] < WINDOW).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn three_shards_at_once_equal_one_run_within_the_shared_rate_limit() {
    let world = world();
    let tenants: Vec<String> = world.entra.tenants.iter().map(|t| t.id.clone()).collect();
    for index in 0..SHARDS {
        let owned = tenants
            .iter()
            .filter(|t| {
                Shard {
                    count: SHARDS,
                    index,
                }
                .owns(t)
            })
            .count();
        assert!(
            owned > 0,
            "shard {index} has tenants, or the test proves little"
        );
    }
    let opts = SimOptions {
        halo_rate_limit: Some((LIMIT as u32, WINDOW)),
        ..SimOptions::default()
    };
    let single = start_with(world.clone(), opts.clone()).await;
    let sharded = start_with(world, opts).await;

    // Everything starts at once: the unsharded reference run and the three shards.
    let reference = spawn(&env(&single), &["run"]);
    let shards: Vec<_> = (0..SHARDS)
        .map(|index| {
            let mut env = env(&sharded);
            set(&mut env, "INTEGRATOR_SHARD_COUNT", &SHARDS.to_string());
            set(&mut env, "JOB_COMPLETION_INDEX", &index.to_string());
            spawn(&env, &["run"])
        })
        .collect();
    let wait = async |child: tokio::process::Child| {
        let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("finishes within 2 minutes")
            .expect("output read");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (reference, shards) = tokio::join!(
        wait(reference),
        futures::future::join_all(shards.into_iter().map(wait))
    );
    assert_eq!(reference.0, Some(0), "unsharded run: {}", reference.1);
    for (index, (code, stderr)) in shards.iter().enumerate() {
        assert_eq!(*code, Some(0), "shard {index}: {stderr}");
    }

    let expected = single.world();
    let got = sharded.world();
    assert_no_duplicates(&got);
    assets_by_intune_id(&got);
    assert_eq!(user_state(&got), user_state(&expected), "users");
    assert_eq!(asset_state(&got), asset_state(&expected), "assets");
    assert_ne!(
        asset_state(&got),
        asset_state(&World::synthetic_devices(9, 40, 3, 5)),
        "the runs changed something"
    );

    let requests = sharded.requests();
    let halo = requests.iter().filter(|r| r.service.is_halo()).count();
    assert!(
        halo > LIMIT,
        "{halo} Halo requests: the limit must have mattered"
    );
    assert!(
        requests.iter().all(|r| r.status != Some(429)),
        "no 429 was served"
    );
    let busiest = busiest_window(&requests);
    assert!(
        busiest <= LIMIT,
        "{busiest} Halo requests within {WINDOW:?}"
    );
}
