//! The simulated data: HaloPSA records, Entra tenants and their users, the credentials the
//! simulated services accept, plus deterministic seeds ([`World::demo`],
//! [`World::synthetic`]) and small builders for tests.
//!
//! The seeds follow the field mapping of the integrator, so a Halo user "in sync" with an
//! Entra user compares equal field by field:
//!
//! | Halo          | Entra                                              |
//! |---------------|----------------------------------------------------|
//! | `name`        | `displayName`                                      |
//! | `firstname`   | `givenName`                                        |
//! | `surname`     | `surname`                                          |
//! | `emailaddress`| `mail`, else `userPrincipalName` (case-insensitive)|
//! | `title`       | `jobTitle`                                         |
//! | `phonenumber` | `businessPhones[0]`                                |
//! | `mobilenumber`| `mobilePhone`                                      |
//! | `azureoid`    | `id`                                               |
//! | `client_id`   | the client linked to the tenant                    |
//! | `site_id`     | that client's main site                            |

use serde::{Deserialize, Serialize};

/// Everything the simulator serves. All fields are public so tests can arrange any state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub halo: HaloWorld,
    pub entra: EntraWorld,
    pub credentials: Credentials,
}

/// The secrets the simulated token endpoints accept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub halo_client_id: String,
    pub halo_client_secret: String,
    /// When set, `POST /auth/token` requires `?tenant=` with this value (hosted Halo).
    pub halo_tenant: Option<String>,
    /// The multi-tenant app registration, the same in every Entra tenant.
    pub entra_client_id: String,
    pub entra_client_secret: String,
    /// The workload-identity JWT accepted as `client_assertion`; `None` rejects every assertion.
    pub federated_token: Option<String>,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            halo_client_id: "sim-halo-client-7f3a".to_string(),
            halo_client_secret: "sim-halo-secret-2c91e4".to_string(),
            halo_tenant: None,
            entra_client_id: "0b5e55ed-51a1-4a11-8e11-51a7a7e5c0de".to_string(),
            entra_client_secret: "sim~entra~secret~9d4b".to_string(),
            federated_token: Some(
                "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.c2ltLWZlZGVyYXRlZC10b2tlbg.c2ltLXNpZw"
                    .to_string(),
            ),
        }
    }
}

/// HaloPSA records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloWorld {
    pub clients: Vec<HaloClient>,
    pub sites: Vec<HaloSite>,
    pub users: Vec<HaloUser>,
    pub asset_types: Vec<HaloAssetType>,
    /// The next id handed out; one counter for every entity, so ids never collide across
    /// entity types (a client id used as a site id is caught instead of silently matching).
    pub next_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloClient {
    pub id: i64,
    pub name: String,
    pub inactive: bool,
    pub main_site_id: i64,
    pub azure_tenants: Vec<AzureTenant>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureTenant {
    pub azure_tenant_id: String,
    pub azure_tenant_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloSite {
    pub id: i64,
    pub name: String,
    pub client_id: i64,
}

/// A Halo user. The API emits `azureoid: ""` when `None` and `null` for the other `None`s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloUser {
    pub id: i64,
    pub name: String,
    pub firstname: String,
    pub surname: String,
    pub emailaddress: String,
    pub azureoid: Option<String>,
    pub site_id: i64,
    pub client_id: i64,
    pub inactive: bool,
    pub title: Option<String>,
    pub phonenumber: Option<String>,
    pub mobilenumber: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloAssetType {
    pub id: i64,
    pub name: String,
}

/// Microsoft Entra: the tenants the multi-tenant app may be consented in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EntraWorld {
    pub tenants: Vec<EntraTenant>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntraTenant {
    /// Tenant GUID, as used in the token URL.
    pub id: String,
    pub name: String,
    /// The app is consented in this tenant (else the token endpoint answers AADSTS700016).
    pub consented: bool,
    /// `User.Read.All` is granted (else Graph answers 403 `Authorization_RequestDenied`).
    pub can_read_users: bool,
    pub users: Vec<EntraUser>,
}

/// An Entra user, serialized with Graph's camelCase property names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntraUser {
    pub id: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub user_principal_name: String,
    pub account_enabled: bool,
    pub job_title: Option<String>,
    pub business_phones: Vec<String>,
    pub mobile_phone: Option<String>,
    pub department: Option<String>,
    /// `"Member"` or `"Guest"`.
    pub user_type: String,
}

impl EntraUser {
    /// A member user with the given names; the other optional fields are empty.
    pub fn member(id: &str, given: &str, surname: &str, upn: &str) -> EntraUser {
        EntraUser {
            id: id.to_string(),
            display_name: format!("{given} {surname}"),
            given_name: Some(given.to_string()),
            surname: Some(surname.to_string()),
            mail: Some(upn.to_string()),
            user_principal_name: upn.to_string(),
            account_enabled: true,
            job_title: None,
            business_phones: Vec::new(),
            mobile_phone: None,
            department: None,
            user_type: "Member".to_string(),
        }
    }
}

impl HaloUser {
    /// A Halo user mirroring `entra` exactly (the integrator's field mapping), linked by
    /// `azureoid`, in the given client and site. The id is 0 until added to a world.
    pub fn from_entra(entra: &EntraUser, client_id: i64, site_id: i64) -> HaloUser {
        HaloUser {
            id: 0,
            name: entra.display_name.clone(),
            firstname: entra.given_name.clone().unwrap_or_default(),
            surname: entra.surname.clone().unwrap_or_default(),
            emailaddress: entra
                .mail
                .clone()
                .unwrap_or_else(|| entra.user_principal_name.clone()),
            azureoid: Some(entra.id.clone()),
            site_id,
            client_id,
            inactive: false,
            title: entra.job_title.clone(),
            phonenumber: entra.business_phones.first().cloned(),
            mobilenumber: entra.mobile_phone.clone(),
        }
    }
}

impl World {
    /// No records, default credentials, the standard asset types.
    pub fn empty() -> World {
        let mut world = World {
            halo: HaloWorld {
                clients: Vec::new(),
                sites: Vec::new(),
                users: Vec::new(),
                asset_types: Vec::new(),
                next_id: 1,
            },
            entra: EntraWorld::default(),
            credentials: Credentials::default(),
        };
        for name in ["Workstation", "Laptop", "Server", "Mobile Phone"] {
            let id = world.next_halo_id();
            world.halo.asset_types.push(HaloAssetType {
                id,
                name: name.to_string(),
            });
        }
        world
    }

    /// Hands out the next Halo id.
    pub fn next_halo_id(&mut self) -> i64 {
        let id = self.halo.next_id;
        self.halo.next_id += 1;
        id
    }

    /// Adds an active client linked to `tenant_ids` (tenant names are taken from the Entra
    /// side when the tenant exists there), with a main site named "Main". Returns its id.
    pub fn add_client(&mut self, name: &str, tenant_ids: &[&str]) -> i64 {
        let id = self.next_halo_id();
        let site_id = self.next_halo_id();
        let azure_tenants = tenant_ids
            .iter()
            .map(|t| AzureTenant {
                azure_tenant_id: (*t).to_string(),
                azure_tenant_name: self
                    .entra
                    .tenants
                    .iter()
                    .find(|e| e.id.eq_ignore_ascii_case(t))
                    .map_or_else(|| name.to_string(), |e| e.name.clone()),
            })
            .collect();
        self.halo.clients.push(HaloClient {
            id,
            name: name.to_string(),
            inactive: false,
            main_site_id: site_id,
            azure_tenants,
        });
        self.halo.sites.push(HaloSite {
            id: site_id,
            name: "Main".to_string(),
            client_id: id,
        });
        id
    }

    /// Adds a consented Entra tenant with `User.Read.All` granted and no users.
    pub fn add_tenant(&mut self, tenant_id: &str, name: &str) -> &mut EntraTenant {
        self.entra.tenants.push(EntraTenant {
            id: tenant_id.to_string(),
            name: name.to_string(),
            consented: true,
            can_read_users: true,
            users: Vec::new(),
        });
        let last = self.entra.tenants.len() - 1;
        &mut self.entra.tenants[last]
    }

    /// Adds a Halo user, assigning a fresh id (the `id` field of `user` is ignored).
    pub fn add_halo_user(&mut self, mut user: HaloUser) -> i64 {
        user.id = self.next_halo_id();
        let id = user.id;
        self.halo.users.push(user);
        id
    }

    /// The client record with this id.
    pub fn client(&self, id: i64) -> Option<&HaloClient> {
        self.halo.clients.iter().find(|c| c.id == id)
    }

    /// The Halo user with this id.
    pub fn halo_user(&self, id: i64) -> Option<&HaloUser> {
        self.halo.users.iter().find(|u| u.id == id)
    }

    /// The Entra tenant with this id (case-insensitive).
    pub fn tenant(&self, tenant_id: &str) -> Option<&EntraTenant> {
        self.entra
            .tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(tenant_id))
    }

    /// The Entra tenant with this id (case-insensitive), mutable.
    pub fn tenant_mut(&mut self, tenant_id: &str) -> Option<&mut EntraTenant> {
        self.entra
            .tenants
            .iter_mut()
            .find(|t| t.id.eq_ignore_ascii_case(tenant_id))
    }

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
        world
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
        site_id,
        client_id,
        inactive: false,
        title: Some("External Contact".to_string()),
        phonenumber: None,
        mobilenumber: None,
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
