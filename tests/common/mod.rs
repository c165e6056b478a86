//! Shared harness of the integration tests: a simulator started in-process, the compiled
//! `halo-integrator` binary run against it as a real subprocess, and helpers to read the
//! simulator's final state and request log.

#![allow(dead_code)] // each test crate uses a different subset

pub mod contract;

use std::collections::HashMap;
use std::process::Output;
use std::time::Duration;

use halo_integrator::sim::{
    ASSET_FIELD_LAST_SEEN, ASSET_FIELD_MODEL, ASSET_FIELD_OS, ASSET_FIELD_SERIAL, ASSET_FIELD_TAG,
    ASSET_FIELD_WARRANTY, EntraUser, Fault, HaloAsset, HaloAssetFieldValue, HaloUser,
    ManagedDevice, RequestRecord, Service, SimOptions, Simulator, World,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_halo-integrator");

/// What one run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A simulator whose request log is held against Halo's contract when the test ends:
/// every request the binary sent and every record answered must use only paths, query
/// parameters and properties Halo has ([`contract`]); a test that passed otherwise fails
/// naming each one that does not.
pub struct Sim(Simulator);

impl std::ops::Deref for Sim {
    type Target = Simulator;

    fn deref(&self) -> &Simulator {
        &self.0
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let violations = contract::contract().violations(&self.0.requests());
        assert!(
            violations.is_empty(),
            "requests or answers outside Halo's API contract:\n  {}",
            violations.join("\n  ")
        );
    }
}

pub async fn start(world: World) -> Sim {
    start_with(world, SimOptions::default()).await
}

pub async fn start_with(world: World, opts: SimOptions) -> Sim {
    Sim(Simulator::start(([127, 0, 0, 1], 0).into(), world, opts)
        .await
        .expect("simulator starts"))
}

/// The variables a run against `sim` needs, with fast retries (tests must not wait a
/// minute for a back-off) and the entra-users import.
pub fn env_for(sim: &Simulator) -> Vec<(String, String)> {
    let mut env = sim.env();
    env.extend(
        [
            ("INTEGRATOR_IMPORTS", "entra-users"),
            ("INTEGRATOR_RETRY_INITIAL_DELAY_MS", "5"),
            ("INTEGRATOR_RETRY_MAX_DELAY_SECONDS", "1"),
            ("HALO_TIMEOUT_SECONDS", "5"),
            ("RUST_LOG", "info"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

/// `env` with `key` set to `value` (replacing any earlier value).
pub fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_string(), value.to_string()));
}

pub fn unset(env: &mut Vec<(String, String)>, key: &str) {
    env.retain(|(k, _)| k != key);
}

/// Starts the binary with exactly `env` (nothing inherited) and `args`, output captured.
pub fn spawn(env: &[(String, String)], args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts")
}

/// Runs the binary with exactly `env` (nothing inherited) and `args`.
pub async fn run(env: &[(String, String)], args: &[&str]) -> Run {
    let child = spawn(env, args).wait_with_output();
    let output = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the binary finishes within 2 minutes")
        .expect("the binary's output is read");
    Run::from(output)
}

/// Halo users by `azureoid`, failing the test on duplicates.
pub fn users_by_oid(world: &World) -> HashMap<String, HaloUser> {
    let mut map = HashMap::new();
    for u in &world.halo.users {
        if let Some(oid) = u.azureoid.as_ref().filter(|o| !o.is_empty()) {
            let previous = map.insert(oid.to_lowercase(), u.clone());
            assert!(
                previous.is_none(),
                "duplicate Halo users for azureoid {oid}"
            );
        }
    }
    map
}

/// Asserts no two Halo users share an azureoid or (within a client) an e-mail address.
pub fn assert_no_duplicates(world: &World) {
    users_by_oid(world);
    let mut emails = HashMap::new();
    for u in &world.halo.users {
        let key = (u.client_id, u.emailaddress.to_lowercase());
        if !key.1.is_empty()
            && let Some(other) = emails.insert(key.clone(), u.id)
        {
            panic!(
                "Halo users {other} and {} share e-mail {} in client {}",
                u.id, key.1, key.0
            );
        }
    }
}

pub fn count(requests: &[RequestRecord], service: Service, method: &str, path: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.service == service && r.method == method && r.path.eq_ignore_ascii_case(path))
        .count()
}

/// POSTs to `/api/Users` (write requests), whatever their outcome.
pub fn user_writes(requests: &[RequestRecord]) -> usize {
    count(requests, Service::HaloApi, "POST", "/api/Users")
}

/// Everything a fault-free first sync of `world` should produce, used to compare a
/// faulted run's final state with a clean one: (azureoid, name, title, inactive) sorted.
pub fn user_state(world: &World) -> Vec<(String, String, Option<String>, bool, i64)> {
    let mut state: Vec<_> = world
        .halo
        .users
        .iter()
        .map(|u| {
            (
                u.azureoid.clone().unwrap_or_default().to_lowercase(),
                u.name.clone(),
                u.title.clone(),
                u.inactive,
                u.client_id,
            )
        })
        .collect();
    state.sort();
    state
}

/// One asset's content: (intune id, name, client, inactive, user's e-mail, fields).
pub type AssetContent = (
    String,
    String,
    i64,
    bool,
    Option<String>,
    Vec<(i64, String)>,
);

/// [`env_for`] running the intune-devices import with the simulator's standard asset fields.
pub fn env_for_devices(sim: &Simulator) -> Vec<(String, String)> {
    let mut env = env_for(sim);
    set(&mut env, "INTEGRATOR_IMPORTS", "intune-devices");
    for (key, id) in [
        ("INTUNE_FIELD_SERIAL", ASSET_FIELD_SERIAL),
        ("INTUNE_FIELD_MODEL", ASSET_FIELD_MODEL),
        ("INTUNE_FIELD_OS", ASSET_FIELD_OS),
        ("INTUNE_FIELD_LAST_SEEN", ASSET_FIELD_LAST_SEEN),
    ] {
        set(&mut env, key, &id.to_string());
    }
    env
}

/// Halo assets by `intune_id`, failing the test on duplicates (also of serial numbers
/// within a client).
pub fn assets_by_intune_id(world: &World) -> HashMap<String, HaloAsset> {
    let mut map = HashMap::new();
    let mut serials = HashMap::new();
    for a in &world.halo.assets {
        if let Some(id) = a.intune_id.as_ref().filter(|i| !i.is_empty()) {
            let previous = map.insert(id.to_lowercase(), a.clone());
            assert!(
                previous.is_none(),
                "duplicate Halo assets for intune_id {id}"
            );
        }
        if let Some(serial) = a.field(ASSET_FIELD_SERIAL).or(a.field(ASSET_FIELD_TAG))
            && let Some(other) = serials.insert((a.client_id, serial.to_lowercase()), a.id)
        {
            panic!("Halo assets {other} and {} share serial {serial}", a.id);
        }
    }
    map
}

/// POSTs to `/api/Asset`, whatever their outcome.
pub fn asset_writes(requests: &[RequestRecord]) -> usize {
    count(requests, Service::HaloApi, "POST", "/api/Asset")
}

/// The content of every asset, ids left out (they depend on creation order), sorted.
pub fn asset_state(world: &World) -> Vec<AssetContent> {
    let mut state: Vec<_> = world
        .halo
        .assets
        .iter()
        .map(|a| {
            let mut fields: Vec<(i64, String)> =
                a.fields.iter().map(|f| (f.id, f.value.clone())).collect();
            fields.sort();
            (
                a.intune_id.clone().unwrap_or_default().to_lowercase(),
                a.inventory_number.clone(),
                a.client_id,
                a.inactive,
                a.users
                    .first()
                    .and_then(|id| world.halo_user(*id))
                    .map(|u| u.emailaddress.to_lowercase()),
                fields,
            )
        })
        .collect();
    state.sort();
    state
}

// --- Worlds and the fault-free comparison shared by the end-to-end tests.

pub const T1: &str = "11111111-1111-4111-8111-111111111111";
pub const T2: &str = "22222222-2222-4222-8222-222222222222";
pub const T3: &str = "33333333-3333-4333-8333-333333333333";

pub fn oid(tenant: usize, n: usize) -> String {
    format!("{tenant:08x}-0000-4000-8000-{n:012x}")
}

/// One client linked to T1 with `linked` Entra users already in Halo and in sync.
pub fn tenant_world(linked: usize) -> World {
    let mut w = World::empty();
    let client = w.add_client("Contoso Ltd", &[T1]);
    let site = w.client(client).unwrap().main_site_id;
    let users: Vec<EntraUser> = (0..linked)
        .map(|n| {
            let mut u = EntraUser::member(
                &oid(1, n),
                &format!("Given{n}"),
                &format!("Sur{n}"),
                &format!("user{n}@contoso.example"),
            );
            u.job_title = Some("Engineer".into());
            u
        })
        .collect();
    w.add_tenant(T1, "Contoso").users = users.clone();
    for u in &users {
        w.add_halo_user(HaloUser::from_entra(u, client, site));
    }
    w
}

pub fn entra_user_mut<'a>(w: &'a mut World, tenant: &str, n: usize) -> &'a mut EntraUser {
    let id = oid(1, n);
    w.tenant_mut(tenant)
        .unwrap()
        .users
        .iter_mut()
        .find(|u| u.id == id)
        .unwrap()
}

/// The world of [`converges_under`]: 40 linked users, 3 changed titles (one update batch),
/// one disabled account (one deactivation), 12 new users (three create batches of 5).
fn user_fault_world() -> World {
    let mut w = tenant_world(40);
    for n in 0..3 {
        entra_user_mut(&mut w, T1, n).job_title = Some("Manager".into());
    }
    entra_user_mut(&mut w, T1, 3).account_enabled = false;
    let tenant = w.tenant_mut(T1).unwrap();
    for n in 100..112 {
        tenant.users.push(EntraUser::member(
            &oid(1, n),
            "New",
            &format!("Hire{n}"),
            &format!("new{n}@contoso.example"),
        ));
    }
    w
}

/// The world of [`devices_converge_under`]: 20 linked devices, 3 with a new model (one
/// update batch), one gone from Intune (one deactivation), 12 new (three create batches).
fn device_fault_world() -> World {
    let mut w = device_world(20);
    for n in 0..3 {
        device_mut(&mut w, n).model = Some("Surface Laptop 7".into());
    }
    let gone = device_id(1, 3);
    w.tenant_mut(T1).unwrap().devices.retain(|d| d.id != gone);
    for n in 100..112 {
        new_device(&mut w, n);
    }
    w
}

/// Runs `world` under `faults` and checks the final state equals a fault-free run's,
/// with no duplicate. Deactivation on, batches of 5.
async fn converge<S: PartialEq + std::fmt::Debug>(
    world: World,
    env_for: fn(&Simulator) -> Vec<(String, String)>,
    state: fn(&World) -> S,
    faults: Vec<Fault>,
) -> (Run, Vec<RequestRecord>) {
    let env = |sim: &Simulator| {
        let mut env = env_for(sim);
        set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
        set(&mut env, "HALO_BATCH_SIZE", "5");
        env
    };
    let clean = start(world.clone()).await;
    let out = run(&env(&clean), &["run"]).await;
    assert_eq!(out.code, 0, "fault-free run: {out:?}");
    let expected = state(&clean.world());

    let sim = start(world).await;
    for f in faults {
        sim.inject(f);
    }
    let out = run(&env(&sim), &["run"]).await;
    let world = sim.world();
    assert_no_duplicates(&world);
    assets_by_intune_id(&world);
    assert_eq!(
        state(&world),
        expected,
        "final state differs from a fault-free run: {out:?}"
    );
    (out, sim.requests())
}

/// [`converge`] on the users world (entra-users).
pub async fn converges_under(faults: Vec<Fault>) -> (Run, Vec<RequestRecord>) {
    converge(user_fault_world(), env_for, user_state, faults).await
}

/// [`converge`] on the devices world (intune-devices).
pub async fn devices_converge_under(faults: Vec<Fault>) -> (Run, Vec<RequestRecord>) {
    converge(device_fault_world(), env_for_devices, asset_state, faults).await
}

// --- Intune devices and their Halo assets.

pub fn device_id(tenant: usize, n: usize) -> String {
    format!("{tenant:08x}-d000-4000-8000-{n:012x}")
}

pub fn upn(n: usize) -> String {
    format!("user{n}@contoso.example")
}

/// Client "Contoso Ltd" linked to `tenant` (created in Entra with 10 users, in Halo too),
/// with `linked` Intune devices whose assets are in Halo, in sync, linked to their users
/// and carrying a warranty date the integrator does not own.
pub fn add_tenant_with_devices(w: &mut World, tenant: &str, t: usize, linked: usize) -> i64 {
    let client = w.add_client(&format!("Client {t}"), &[tenant]);
    let site = w.client(client).unwrap().main_site_id;
    let users: Vec<EntraUser> = (0..10)
        .map(|n| {
            EntraUser::member(
                &format!("{t:08x}-0000-4000-8000-{n:012x}"),
                "Given",
                &format!("Sur{n}"),
                &upn(n),
            )
        })
        .collect();
    let user_ids: Vec<i64> = users
        .iter()
        .map(|u| w.add_halo_user(HaloUser::from_entra(u, client, site)))
        .collect();
    let devices: Vec<ManagedDevice> = (0..linked)
        .map(|n| {
            ManagedDevice::laptop(
                &device_id(t, n),
                &format!("PC-{t}-{n:03}"),
                &format!("SN-{t}-{n:04}"),
                Some(&upn(n % 10)),
            )
        })
        .collect();
    let workstation = w.asset_type_id("Workstation").unwrap();
    for (n, d) in devices.iter().enumerate() {
        let mut asset = HaloAsset::from_device(d, client, site, workstation);
        asset.users = vec![user_ids[n % 10]];
        asset.fields.push(HaloAssetFieldValue {
            id: ASSET_FIELD_WARRANTY,
            value: format!("2028-{:02}-01", n % 12 + 1),
        });
        w.add_halo_asset(asset);
    }
    let entra = w.add_tenant(tenant, &format!("Tenant {t}"));
    entra.users = users;
    entra.devices = devices;
    client
}

pub fn device_world(linked: usize) -> World {
    let mut w = World::empty();
    add_tenant_with_devices(&mut w, T1, 1, linked);
    w
}

pub fn device_mut(w: &mut World, n: usize) -> &mut ManagedDevice {
    let id = device_id(1, n);
    w.tenant_mut(T1)
        .unwrap()
        .devices
        .iter_mut()
        .find(|d| d.id == id)
        .unwrap()
}

pub fn new_device(w: &mut World, n: usize) {
    w.tenant_mut(T1)
        .unwrap()
        .devices
        .push(ManagedDevice::laptop(
            &device_id(1, n),
            &format!("NEW-{n:03}"),
            &format!("SN-NEW-{n:04}"),
            Some(&upn(n % 10)),
        ));
}
