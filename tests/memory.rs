//! Memory guard: the binary's peak RSS per record on a scaled scenario, checked
//! against a ceiling committed here, so that a change that makes records bigger (or holds a
//! tenant's read twice) fails CI long before a 100k-record tenant is OOM-killed in a
//! CronJob. Measured like the benchmark suite (its harness, shared: the kernel's `VmHWM` of
//! the child process, polled until it exits), on the test build, without latency. Not
//! timed.
//!
//! Per record = (peak of a 20,000-record tenant − peak of a 100-record tenant) / 19,900:
//! the difference takes out what the process holds whatever the tenant's size (code,
//! certificates, the runtime), which is not what this guards.

#[path = "../benches/harness/mod.rs"]
mod harness;

use halo_integrator::sim::{
    ASSET_FIELD_LAST_SEEN, ASSET_FIELD_MODEL, ASSET_FIELD_OS, ASSET_FIELD_SERIAL, World,
};

const LARGE: usize = 20_000;
const SMALL: usize = 100;

/// Peak RSS (KiB) of one run of `imports` against a fresh simulator of `world`.
fn peak_kib(world: World, imports: &str) -> u64 {
    let sim = harness::unthrottled_simulator(world);
    let mut env = sim.env();
    env.extend(
        [
            ("INTEGRATOR_IMPORTS", imports.to_string()),
            ("RUST_LOG", "warn".into()),
            // The client's own limiter would wait out Halo's 5-minute window.
            ("HALO_RATE_LIMIT_WINDOW_SECONDS", "1".into()),
            ("INTUNE_FIELD_SERIAL", ASSET_FIELD_SERIAL.to_string()),
            ("INTUNE_FIELD_MODEL", ASSET_FIELD_MODEL.to_string()),
            ("INTUNE_FIELD_OS", ASSET_FIELD_OS.to_string()),
            ("INTUNE_FIELD_LAST_SEEN", ASSET_FIELD_LAST_SEEN.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let measured = harness::run(&sim, &env, &[Vec::new()]);
    sim.shutdown();
    measured.peak_rss_kib
}

/// Bytes of peak RSS per record of `world(n)` synced by `imports`.
fn bytes_per_record(world: impl Fn(usize) -> World, imports: &str) -> u64 {
    let large = peak_kib(world(LARGE), imports);
    let small = peak_kib(world(SMALL), imports);
    let per_record = large.saturating_sub(small) * 1024 / (LARGE - SMALL) as u64;
    eprintln!(
        "{imports}: peak {large} KiB at {LARGE} records, {small} KiB at {SMALL}: {per_record} B/record"
    );
    per_record
}

/// Measured 2026-11-30: 582–638 B/record over five runs (debug build, one tenant, 1%
/// changed; 1,361 before the source users were packed and settled); ceiling: the highest
/// plus 25%.
const USERS_CEILING: u64 = 800;

#[test]
fn users_peak_rss_per_record_stays_under_its_ceiling() {
    let per_record = bytes_per_record(|n| World::synthetic(1, n, n / 100, 0), "entra-users");
    assert!(
        per_record <= USERS_CEILING,
        "entra-users: {per_record} bytes of peak RSS per user, ceiling {USERS_CEILING}"
    );
}

/// Measured 2026-11-30: 588–612 B/record over three runs (debug build, one tenant, 1%
/// changed, no new device, so the Halo users are not read; 646–661 while they were read
/// for every run and settled devices kept their texts, 2,637 before devices were packed
/// and settled); ceiling: the highest plus 25%. (The glibc debug build shows less of the
/// change than the image's musl build does: 70.5 → 53.5 MiB at 100k.)
const DEVICES_CEILING: u64 = 770;

#[test]
fn devices_peak_rss_per_record_stays_under_its_ceiling() {
    let per_record = bytes_per_record(
        |n| World::synthetic_devices(1, n, n / 100, 0),
        "intune-devices",
    );
    assert!(
        per_record <= DEVICES_CEILING,
        "intune-devices: {per_record} bytes of peak RSS per device, ceiling {DEVICES_CEILING}"
    );
}
