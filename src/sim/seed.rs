//! The simulator's deterministic seeds: [`World::demo`] (the demo's small MSP),
//! [`World::synthetic`] and [`World::synthetic_devices`] (benchmarks and tests), built on
//! the data model of [`super::world`] with a fixed-seed PRNG ([`Rng`]).

use std::collections::{BTreeMap, HashMap};

use super::world::{
    ASSET_FIELD_OS, ASSET_FIELD_TAG, ASSET_FIELD_WARRANTY, EntraUser, HaloAsset, HaloUser,
    ManagedDevice, World,
};

impl World {
    /// A benchmark/test world: `tenants` clients, each linked to its own tenant with
    /// `users_per_tenant` enabled member users. Halo holds every Entra user except the last
    /// `new_per_tenant` of each tenant, linked and identical under the field mapping, except
    /// the first `changed_per_tenant`, whose Halo `title` differs. (`changed + new` is
    /// clamped to `users_per_tenant`.) Tenant `i` (0-based) has the domain
    /// `tenant{i}.example`; users are `user{j}@tenant{i}.example`.
    pub fn synthetic(
        tenants: usize,
        users_per_tenant: usize,
        changed_per_tenant: usize,
        new_per_tenant: usize,
    ) -> World {
        let mut rng = Rng::new(0x5EED_0000_0000_0001);
        let mut world = World::empty();
        let new = new_per_tenant.min(users_per_tenant);
        let changed = changed_per_tenant.min(users_per_tenant - new);
        for t in 0..tenants {
            let tenant_id = rng.guid();
            let name = format!("Synthetic {t}");
            let domain = format!("tenant{t}.example");
            let tenant = world.add_tenant(&tenant_id, &name);
            for j in 0..users_per_tenant {
                let mut user = EntraUser::member(
                    &rng.guid(),
                    &format!("User{j}"),
                    &format!("Tenant{t}"),
                    &format!("user{j}@{domain}"),
                );
                user.job_title = Some(JOB_TITLES[j % JOB_TITLES.len()].to_string());
                user.department = Some(DEPARTMENTS[j % DEPARTMENTS.len()].to_string());
                user.business_phones = vec![format!("+1 555 {t:03} {j:04}")];
                if j % 3 == 0 {
                    user.mobile_phone = Some(format!("+1 555 9{t:02} {j:04}"));
                }
                tenant.users.push(user);
            }
            let client_id = world.add_client(&format!("Synthetic Client {t}"), &[&tenant_id]);
            let site_id = world.client(client_id).map_or(0, |c| c.main_site_id);
            let linked: Vec<EntraUser> =
                world.entra.tenants[t].users[..users_per_tenant - new].to_vec();
            for (j, entra) in linked.iter().enumerate() {
                let mut halo = HaloUser::from_entra(entra, client_id, site_id);
                if j < changed {
                    halo.title = Some("Previous Title".to_string());
                }
                world.add_halo_user(halo);
            }
        }
        world
    }

    /// A realistic MSP, deterministic (the same every time).
    ///
    /// Halo clients:
    ///
    /// | client             | status   | Entra tenant            | members | guests |
    /// |--------------------|----------|-------------------------|---------|--------|
    /// | Contoso Ltd        | active   | Contoso (contoso.example)     | 118 | 3 |
    /// | Fabrikam Inc       | active   | Fabrikam (fabrikam.example)   |  92 | 3 |
    /// | Northwind Traders  | active   | Northwind (northwind.example) | 141 | 3 |
    /// | Tailspin Toys      | active   | none                    |   –     |   –    |
    /// | Litware Inc        | INACTIVE | Litware (litware.example)     |  25 | 0 |
    ///
    /// Per active tenant, among the member users (guests have UPNs with `#EXT#`, mail at an
    /// outside domain, and are never in Halo):
    ///
    /// | category | count | Entra | Halo |
    /// |---|---|---|---|
    /// | in sync | members − 20 | enabled | linked (`azureoid`), identical under the mapping |
    /// | changed | 5 | enabled, new job title (3) or new business phone (2) | linked, old value |
    /// | new | 8 | enabled | absent → to be created |
    /// | e-mail only | 3 | enabled | same e-mail in different case, `azureoid` empty |
    /// | leavers | 3 | `accountEnabled=false` | active and linked |
    /// | reactivation | 1 | enabled | linked but `inactive` |
    ///
    /// Halo also holds, per active tenant's client, 2 users linked to Entra objects that no
    /// longer exist (deleted from Entra) and 2 hand-made users (no `azureoid`, e-mail not in
    /// Entra). Tailspin Toys has 4 hand-made users only; Litware Inc has none. About a tenth
    /// of the Entra users have no `mail` (their UPN is the e-mail address), some have no
    /// phone or job title. Leavers stay under 10% of each tenant's linked active users.
    ///
    /// Intune, per active tenant (devices of in-sync users, some without a user; Halo assets
    /// of type Workstation with the standard fields, in-sync ones also with a warranty date
    /// the integrator does not own):
    ///
    /// | category | count | Intune | Halo |
    /// |---|---|---|---|
    /// | in sync | 20 | present | linked (`intune_id`), identical, `users` set |
    /// | changed | 3 | newer OS version | linked, old OS version |
    /// | new | 4 | present | absent → to be created |
    /// | serial only | 1 | present | hand-made, serial in the key field (`key_field`), `intune_id` empty |
    /// | gone | 1 | absent | linked, active |
    ///
    /// plus one hand-made asset (no `intune_id`, unknown serial) per client. The gone devices
    /// stay under 10% of each tenant's linked active assets.
    ///
    /// For MSP-style mappings (sites, custom fields, asset types and statuses) the demo also
    /// has a second site per client, office/city/department/employee properties on the Entra
    /// users, iOS and Android phones among the devices and custom field values: see
    /// [`super::demo_msp`].
    pub fn demo() -> World {
        let mut rng = Rng::new(0xD3E0_5EED_2026_0001);
        let mut world = World::empty();
        let specs: [(&str, &str, &str, usize, usize); 4] = [
            ("Contoso Ltd", "Contoso", "contoso", 118, 3),
            ("Fabrikam Inc", "Fabrikam", "fabrikam", 92, 3),
            ("Northwind Traders", "Northwind", "northwind", 141, 3),
            ("Litware Inc", "Litware", "litware", 25, 0),
        ];
        for (index, (client_name, tenant_name, short, members, guests)) in
            specs.into_iter().enumerate()
        {
            let tenant_id = rng.guid();
            let domain = format!("{short}.example");
            let users = demo_users(&mut rng, &domain, short, members, guests);
            world.add_tenant(&tenant_id, tenant_name).users = users;
            let client_id = world.add_client(client_name, &[&tenant_id]);
            let inactive_client = index == 3;
            if inactive_client {
                if let Some(client) = world.halo.clients.iter_mut().find(|c| c.id == client_id) {
                    client.inactive = true;
                }
                continue;
            }
            let site_id = world.client(client_id).map_or(0, |c| c.main_site_id);
            seed_demo_halo(&mut world, &mut rng, index, client_id, site_id);
            for vendor in ["northpoint-consulting.example", "copiers-direct.example"] {
                let (first, last) = rng.name();
                world.add_halo_user(hand_made(
                    first,
                    last,
                    &format!("{}.{}@{vendor}", lower(first), lower(last)),
                    client_id,
                    site_id,
                ));
            }
        }
        let tailspin = world.add_client("Tailspin Toys", &[]);
        let site_id = world.client(tailspin).map_or(0, |c| c.main_site_id);
        for _ in 0..4 {
            let (first, last) = rng.name();
            world.add_halo_user(hand_made(
                first,
                last,
                &format!("{}.{}@tailspintoys.example", lower(first), lower(last)),
                tailspin,
                site_id,
            ));
        }
        seed_demo_devices(&mut world);
        super::demo_msp::seed(&mut world);
        world
    }

    /// A benchmark/test world of devices: [`World::synthetic`] with `devices_per_tenant / 2`
    /// (at least 1) users per tenant and no changed user, [`World::with_devices`].
    pub fn synthetic_devices(
        tenants: usize,
        devices_per_tenant: usize,
        changed_per_tenant: usize,
        new_per_tenant: usize,
    ) -> World {
        let users_per_tenant = (devices_per_tenant / 2).max(1);
        World::synthetic(tenants, users_per_tenant, 0, 0).with_devices(
            devices_per_tenant,
            changed_per_tenant,
            new_per_tenant,
        )
    }

    /// A [`World::synthetic`] world with `devices_per_tenant` managed devices in each tenant,
    /// whose primary users are the tenant's users in turn. Halo holds every device except
    /// the last `new_per_tenant` of each tenant, linked, identical under the mapping and
    /// linked to its user, except the first `changed_per_tenant`, whose OS version differs.
    pub fn with_devices(
        mut self,
        devices_per_tenant: usize,
        changed_per_tenant: usize,
        new_per_tenant: usize,
    ) -> World {
        let world = &mut self;
        let tenants = world.entra.tenants.len();
        let mut rng = Rng::new(0x5EED_0000_DE71_CE01);
        let workstation = world.asset_type_id("Workstation").unwrap_or(1);
        let new = new_per_tenant.min(devices_per_tenant);
        let changed = changed_per_tenant.min(devices_per_tenant - new);
        for t in 0..tenants {
            let tenant_id = world.entra.tenants[t].id.clone();
            let users_per_tenant = world.entra.tenants[t].users.len().max(1);
            let devices: Vec<ManagedDevice> = (0..devices_per_tenant)
                .map(|j| {
                    let upn = format!("user{}@tenant{t}.example", j % users_per_tenant);
                    ManagedDevice::laptop(
                        &rng.guid(),
                        &format!("T{t}-PC{j:05}"),
                        &format!("SN{:012X}", rng.next_u64() >> 16),
                        Some(&upn),
                    )
                })
                .collect();
            let client = world
                .halo
                .clients
                .iter()
                .find(|c| {
                    c.azure_tenants
                        .iter()
                        .any(|a| a.azure_tenant_id == tenant_id)
                })
                .map(|c| (c.id, c.main_site_id));
            let Some((client_id, site_id)) = client else {
                continue;
            };
            let user_by_email = world.active_user_by_email(client_id);
            for (j, device) in devices[..devices_per_tenant - new].iter().enumerate() {
                let mut asset = HaloAsset::from_device(device, client_id, site_id, workstation);
                asset.users = user_by_email(device.user_principal_name.as_deref());
                if j < changed {
                    asset.set_field(ASSET_FIELD_OS, "Windows 10.0.19045.0");
                }
                world.add_halo_asset(asset);
            }
            world.entra.tenants[t].devices = devices;
        }
        self
    }

    /// For assets of `client_id`: the one active Halo user of the client with an e-mail
    /// (case-insensitive), as an asset's `users`; empty when there is none or several.
    /// Indexed once, as worlds of 100k devices look up as many users.
    fn active_user_by_email(&self, client_id: i64) -> impl Fn(Option<&str>) -> Vec<i64> + use<> {
        let mut index: HashMap<String, Vec<i64>> = HashMap::new();
        for u in self
            .halo
            .users
            .iter()
            .filter(|u| u.client_id == client_id && !u.inactive)
        {
            index
                .entry(u.emailaddress.to_ascii_lowercase())
                .or_default()
                .push(u.id);
        }
        move |email| match email.and_then(|e| index.get(&e.to_ascii_lowercase())) {
            Some(ids) if ids.len() == 1 => ids.clone(),
            _ => Vec::new(),
        }
    }
}

const DEMO_DEVICES_IN_SYNC: usize = 20;
const DEMO_DEVICES_CHANGED: usize = 3;
const DEMO_DEVICES_NEW: usize = 4;
/// Members before this index are changed/new/e-mail-only/leavers/reactivated users.
pub(super) const DEMO_FIRST_IN_SYNC_USER: usize = 20;

/// The Intune side of the demo (see [`World::demo`]), from its own random stream so that the
/// users' seed stays as it was.
fn seed_demo_devices(world: &mut World) {
    let mut rng = Rng::new(0xD3E0_DE71_CE50_0001);
    let workstation = world.asset_type_id("Workstation").unwrap_or(1);
    let clients: Vec<(i64, i64, String)> = world
        .halo
        .clients
        .iter()
        .filter(|c| !c.inactive)
        .filter_map(|c| {
            let tenant = c.azure_tenants.first()?.azure_tenant_id.clone();
            Some((c.id, c.main_site_id, tenant))
        })
        .collect();
    for (client_id, site_id, tenant_id) in clients {
        let Some(tenant) = world.tenant(&tenant_id) else {
            continue;
        };
        let members: Vec<String> = tenant
            .users
            .iter()
            .filter(|u| u.user_type == "Member")
            .skip(DEMO_FIRST_IN_SYNC_USER)
            .map(|u| u.user_principal_name.clone())
            .collect();
        let prefix: String = tenant
            .name
            .chars()
            .take(3)
            .collect::<String>()
            .to_uppercase();
        let total = DEMO_DEVICES_IN_SYNC + DEMO_DEVICES_CHANGED + DEMO_DEVICES_NEW + 1;
        let mut devices = Vec::with_capacity(total);
        for j in 0..total {
            // Every seventh device is shared (no primary user).
            let upn = (j % 7 != 6).then(|| members[j % members.len()].as_str());
            let mut device = ManagedDevice::laptop(
                &rng.guid(),
                &format!("{prefix}-LT{:04}", 100 + j),
                &format!("{:X}", rng.next_u64() >> 24),
                upn,
            );
            if j % 4 == 1 {
                device.manufacturer = Some("Lenovo".to_string());
                device.model = Some("ThinkPad T14 Gen 4".to_string());
            }
            super::demo_msp::phone(j, &mut device);
            devices.push(device);
        }
        let user_by_email = world.active_user_by_email(client_id);
        for (j, device) in devices.iter().enumerate() {
            let changed_end = DEMO_DEVICES_IN_SYNC + DEMO_DEVICES_CHANGED;
            let new_end = changed_end + DEMO_DEVICES_NEW;
            let mut asset = HaloAsset::from_device(device, client_id, site_id, workstation);
            if j < DEMO_DEVICES_IN_SYNC {
                asset.users = user_by_email(device.user_principal_name.as_deref());
                asset.set_field(ASSET_FIELD_WARRANTY, "2028-03-31");
            } else if j < changed_end {
                asset.users = user_by_email(device.user_principal_name.as_deref());
                asset.set_field(ASSET_FIELD_OS, "Windows 10.0.19045.5131");
            } else if j < new_end {
                continue;
            } else {
                // Serial only: made by hand before the integrator, serial in the asset
                // type's key field (what `key_field` shows).
                asset.intune_id = None;
                asset.fields.clear();
                if let Some(serial) = &device.serial_number {
                    asset.set_field(ASSET_FIELD_TAG, serial);
                }
            }
            world.add_halo_asset(asset);
        }
        let gone = ManagedDevice::laptop(
            &rng.guid(),
            &format!("{prefix}-LT0099"),
            &format!("{:X}", rng.next_u64() >> 24),
            None,
        );
        world.add_halo_asset(HaloAsset::from_device(
            &gone,
            client_id,
            site_id,
            workstation,
        ));
        let mut hand_made = HaloAsset::from_device(&gone, client_id, site_id, workstation);
        hand_made.intune_id = None;
        hand_made.inventory_number = format!("{prefix}-PRINTER-01");
        hand_made.fields.clear();
        hand_made.set_field(ASSET_FIELD_TAG, &format!("{:X}", rng.next_u64() >> 24));
        hand_made.set_field(ASSET_FIELD_WARRANTY, "2027-01-15");
        world.add_halo_asset(hand_made);
        if let Some(tenant) = world.tenant_mut(&tenant_id) {
            tenant.devices = devices;
        }
    }
}

/// Demo composition: the order of the member users in each active tenant.
const DEMO_CHANGED: usize = 5;
const DEMO_NEW: usize = 8;
const DEMO_EMAIL_ONLY: usize = 3;
const DEMO_LEAVERS: usize = 3;
const DEMO_DELETED: usize = 2;

/// Builds the Halo side of one active demo tenant. Member users are taken in order:
/// changed, new, e-mail only, leavers, reactivation, then in sync.
fn seed_demo_halo(world: &mut World, rng: &mut Rng, tenant: usize, client_id: i64, site_id: i64) {
    let members: Vec<EntraUser> = world.entra.tenants[tenant]
        .users
        .iter()
        .filter(|u| u.user_type == "Member")
        .cloned()
        .collect();
    let mut halo_users = Vec::new();
    let mut entra_updates = Vec::new();
    for (i, entra) in members.iter().enumerate() {
        let mut halo = HaloUser::from_entra(entra, client_id, site_id);
        let changed_end = DEMO_CHANGED;
        let new_end = changed_end + DEMO_NEW;
        let email_end = new_end + DEMO_EMAIL_ONLY;
        let leavers_end = email_end + DEMO_LEAVERS;
        if i < changed_end {
            // Entra moved on; Halo still has the old value.
            let mut updated = entra.clone();
            if i < 3 {
                updated.job_title = Some(format!("Senior {}", rng.pick(JOB_TITLES)));
            } else {
                updated.business_phones = vec![rng.phone("+1 206 555")];
            }
            entra_updates.push(updated);
        } else if i < new_end {
            continue;
        } else if i < email_end {
            halo.azureoid = None;
            halo.emailaddress = swap_case_first_letters(&halo.emailaddress);
        } else if i < leavers_end {
            let mut updated = entra.clone();
            updated.account_enabled = false;
            entra_updates.push(updated);
        } else if i == leavers_end {
            halo.inactive = true;
        }
        halo_users.push(halo);
    }
    let users = &mut world.entra.tenants[tenant].users;
    for updated in entra_updates {
        if let Some(slot) = users.iter_mut().find(|u| u.id == updated.id) {
            *slot = updated;
        }
    }
    for user in halo_users {
        world.add_halo_user(user);
    }
    let domain = members
        .first()
        .and_then(|u| u.user_principal_name.split('@').nth(1))
        .unwrap_or("example")
        .to_string();
    let mut deleted = 0;
    while deleted < DEMO_DELETED {
        let (first, last) = rng.name();
        let gone = demo_user(rng, first, last, &domain, true);
        let clash = world.entra.tenants[tenant].users.iter().any(|u| {
            u.user_principal_name
                .eq_ignore_ascii_case(&gone.user_principal_name)
        });
        if !clash {
            world.add_halo_user(HaloUser::from_entra(&gone, client_id, site_id));
            deleted += 1;
        }
    }
}

fn hand_made(first: &str, last: &str, email: &str, client_id: i64, site_id: i64) -> HaloUser {
    HaloUser {
        id: 0,
        name: format!("{first} {last}"),
        firstname: first.to_string(),
        surname: last.to_string(),
        emailaddress: email.to_string(),
        azureoid: None,
        other: BTreeMap::new(),
        site_id,
        client_id,
        inactive: false,
        title: Some("External Contact".to_string()),
        phonenumber: None,
        mobilenumber: None,
        customfields: Vec::new(),
    }
}

/// `jane.doe@contoso.example` → `Jane.Doe@contoso.example`-style variation of the case.
fn swap_case_first_letters(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    let mut upper_next = true;
    for c in email.chars() {
        if upper_next {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        upper_next = c == '.' || c == '@';
    }
    out
}

fn lower(s: &str) -> String {
    s.to_lowercase().replace(['\'', ' '], "")
}

fn demo_users(
    rng: &mut Rng,
    domain: &str,
    short: &str,
    members: usize,
    guests: usize,
) -> Vec<EntraUser> {
    let mut seen = std::collections::HashSet::new();
    let mut users = Vec::with_capacity(members + guests);
    while users.len() < members {
        let (first, last) = rng.name();
        if !seen.insert((first, last)) {
            continue;
        }
        users.push(demo_user(rng, first, last, domain, users.len() % 10 != 9));
    }
    for _ in 0..guests {
        let (first, last) = rng.name();
        let outside = rng.pick(&["outlook.example", "gmail.example", "partner.example"]);
        let mail = format!("{}.{}@{outside}", lower(first), lower(last));
        let upn = format!(
            "{}_{}#EXT#@{short}.onmicrosoft.com",
            mail.split('@').next().unwrap_or_default(),
            outside
        );
        let mut guest = EntraUser::member(&rng.guid(), first, last, &upn);
        guest.mail = Some(mail);
        guest.user_type = "Guest".to_string();
        users.push(guest);
    }
    users
}

fn demo_user(rng: &mut Rng, first: &str, last: &str, domain: &str, has_mail: bool) -> EntraUser {
    let upn = format!("{}.{}@{domain}", lower(first), lower(last));
    let mut user = EntraUser::member(&rng.guid(), first, last, &upn);
    if !has_mail {
        user.mail = None;
    }
    if rng.below(8) != 0 {
        user.job_title = Some(rng.pick(JOB_TITLES).to_string());
    }
    user.department = Some(rng.pick(DEPARTMENTS).to_string());
    if rng.below(5) != 0 {
        user.business_phones = vec![rng.phone("+1 425 555")];
    }
    if rng.below(2) == 0 {
        user.mobile_phone = Some(rng.phone("+1 206 555"));
    }
    user
}

const FIRST_NAMES: &[&str] = &[
    "Aaliyah",
    "Adam",
    "Aisha",
    "Alex",
    "Amelia",
    "Andrea",
    "Anna",
    "Ben",
    "Bianca",
    "Carlos",
    "Caroline",
    "Chen",
    "Chloe",
    "Daniel",
    "David",
    "Diego",
    "Elena",
    "Emily",
    "Emma",
    "Ethan",
    "Fatima",
    "Felix",
    "Grace",
    "Hannah",
    "Hiro",
    "Isabel",
    "Ivan",
    "Jack",
    "James",
    "Jana",
    "Javier",
    "Jessica",
    "John",
    "Julia",
    "Kai",
    "Karen",
    "Kevin",
    "Laura",
    "Leo",
    "Liam",
    "Lucia",
    "Maria",
    "Mark",
    "Marta",
    "Mei",
    "Mia",
    "Michael",
    "Mohammed",
    "Nadia",
    "Noah",
    "Olivia",
    "Omar",
    "Oscar",
    "Paul",
    "Priya",
    "Rachel",
    "Rahul",
    "Robert",
    "Sara",
    "Sofia",
    "Sven",
    "Thomas",
    "Tom",
    "Valentina",
    "Victor",
    "Yuki",
    "Zoe",
];

const LAST_NAMES: &[&str] = &[
    "Adams", "Ahmed", "Andersen", "Baker", "Bauer", "Brown", "Campbell", "Chen", "Clark", "Costa",
    "Davis", "Dubois", "Evans", "Fischer", "Garcia", "Gonzalez", "Green", "Hall", "Hansen",
    "Harris", "Hughes", "Ito", "Jackson", "Jensen", "Johnson", "Kim", "Kowalski", "Lee", "Lewis",
    "Lopez", "Martin", "Meyer", "Miller", "Moore", "Muller", "Nguyen", "Novak", "Okafor", "Olsen",
    "Patel", "Perez", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Taylor",
    "Thompson", "Walker", "Wang", "White", "Wilson", "Wright", "Young",
];

const JOB_TITLES: &[&str] = &[
    "Accountant",
    "Account Manager",
    "Business Analyst",
    "Customer Success Manager",
    "Data Analyst",
    "Designer",
    "Developer",
    "Engineer",
    "Finance Manager",
    "HR Coordinator",
    "IT Administrator",
    "Marketing Specialist",
    "Office Manager",
    "Operations Manager",
    "Project Manager",
    "Receptionist",
    "Sales Representative",
    "Support Technician",
];

const DEPARTMENTS: &[&str] = &[
    "Finance",
    "Human Resources",
    "IT",
    "Marketing",
    "Operations",
    "Sales",
    "Support",
];

/// A tiny deterministic PRNG (SplitMix64): seeds must not depend on a `rand` crate's
/// algorithm choices.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn name(&mut self) -> (&'static str, &'static str) {
        (self.pick(FIRST_NAMES), self.pick(LAST_NAMES))
    }

    fn phone(&mut self, prefix: &str) -> String {
        format!("{prefix} {:04}", self.below(10_000))
    }

    /// A version-4-shaped GUID, lower case.
    pub(crate) fn guid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}
