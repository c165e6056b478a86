//! The simulated data: HaloPSA records (users, assets and their fields), Entra tenants with
//! their users and Intune managed devices, the credentials the simulated services accept,
//! plus deterministic seeds ([`World::demo`], [`World::synthetic`],
//! [`World::synthetic_devices`]) and small builders for tests.
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
//!
//! and a Halo asset "in sync" with a managed device ([`HaloAsset::from_device`]) uses the
//! standard asset fields of [`World::empty`]:
//!
//! | Halo asset | Intune managed device |
//! |---|---|
//! | `intune_id` | `id` |
//! | `inventory_number` | `deviceName` |
//! | field [`ASSET_FIELD_SERIAL`] | `serialNumber` |
//! | field [`ASSET_FIELD_MODEL`] | `model` |
//! | field [`ASSET_FIELD_OS`] | `operatingSystem` + ` ` + `osVersion` |
//! | field [`ASSET_FIELD_LAST_SEEN`] | `lastSyncDateTime` |
//! | `users` | `[{id}]`: the Halo user of the client with the device's `userPrincipalName` |

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::custom_fields::{
    HaloAssetStatus, HaloCustomFieldDef, HaloCustomFieldValue, default_asset_status,
    standard_asset_custom_fields, standard_asset_statuses, standard_user_custom_fields,
};

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
    /// The Halo agent may run SQL reports (`edit:reporting`); else `/api/Report` answers 403.
    #[serde(default = "granted")]
    pub halo_reporting: bool,
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
            halo_reporting: true,
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
    #[serde(default)]
    pub assets: Vec<HaloAsset>,
    /// The asset field definitions (`fields[].id` must name one of them).
    #[serde(default)]
    pub asset_fields: Vec<HaloAssetFieldDef>,
    /// The user custom field definitions (`customfields[].id` of a user names one of them).
    #[serde(default)]
    pub user_custom_fields: Vec<HaloCustomFieldDef>,
    /// The asset custom field definitions, a set apart from the users' ones.
    #[serde(default)]
    pub asset_custom_fields: Vec<HaloCustomFieldDef>,
    /// The asset statuses an asset's `status_id` must name.
    #[serde(default = "standard_asset_statuses")]
    pub asset_statuses: Vec<HaloAssetStatus>,
    /// Saved SQL reports (`POST /api/Report` without `_loadreportonly`).
    #[serde(default)]
    pub reports: Vec<HaloReport>,
    /// Tickets (`Faults`) with their actions.
    #[serde(default)]
    pub tickets: Vec<HaloTicket>,
    /// The service desk's setup the tickets refer to: ticket types, statuses and action
    /// outcomes (configured in Halo's UI; the API contract has no path for them).
    #[serde(default)]
    pub desk: ServiceDesk,
    /// The next id handed out; one counter for every entity, so ids never collide across
    /// entity types (a client id used as a site id is caught instead of silently matching).
    pub next_id: i64,
}

/// A ticket (`Faults`), with the actions (notes) added to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloTicket {
    pub id: i64,
    pub summary: String,
    pub details: String,
    pub client_id: i64,
    pub site_id: i64,
    pub tickettype_id: i64,
    pub status_id: i64,
    pub team: Option<String>,
    pub agent_id: Option<i64>,
    pub third_party_id_string: Option<String>,
    pub actions: Vec<HaloAction>,
}

/// An action on a ticket (`Actions`): a note with its outcome, maybe changing the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloAction {
    pub id: i64,
    pub outcome_id: i64,
    pub note: String,
    pub hiddenfromuser: bool,
    pub new_status: Option<i64>,
}

/// Ticket types, statuses (which of them count as closed) and action outcomes, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDesk {
    pub ticket_types: Vec<(i64, String)>,
    pub statuses: Vec<(i64, String, bool)>,
    pub outcomes: Vec<(i64, String)>,
}

/// The ids of the simulated service desk's standard setup.
pub const TICKET_TYPE_INCIDENT: i64 = 1;
pub const TICKET_TYPE_PROBLEM: i64 = 3;
pub const STATUS_NEW: i64 = 1;
pub const STATUS_CLOSED: i64 = 9;
pub const OUTCOME_PRIVATE_NOTE: i64 = 7;

impl Default for ServiceDesk {
    fn default() -> Self {
        ServiceDesk {
            ticket_types: vec![
                (TICKET_TYPE_INCIDENT, "Incident".into()),
                (TICKET_TYPE_PROBLEM, "Problem".into()),
            ],
            statuses: vec![
                (STATUS_NEW, "New".into(), false),
                (2, "In Progress".into(), false),
                (STATUS_CLOSED, "Closed".into(), true),
            ],
            outcomes: vec![(OUTCOME_PRIVATE_NOTE, "Private Note".into())],
        }
    }
}

impl ServiceDesk {
    pub fn is_closed(&self, status: i64) -> bool {
        self.statuses
            .iter()
            .any(|(id, _, closed)| *id == status && *closed)
    }
}

/// A saved Halo SQL report (`AnalyzerProfile`); its id comes from [`World::next_halo_id`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloReport {
    pub id: i64,
    pub name: String,
    pub sql: String,
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
    /// Hidden from site lists without `includeinactive=true`; users and assets cannot be
    /// placed on it.
    #[serde(default)]
    pub inactive: bool,
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
    /// The free-text properties `other1` .. `other5` (on both the `Users` and `Users_List`
    /// models) that have a value, by name; where `ldap-users` keeps its link
    /// (`LDAP_LINK_FIELD`).
    #[serde(default)]
    pub other: BTreeMap<String, String>,
    pub site_id: i64,
    pub client_id: i64,
    pub inactive: bool,
    pub title: Option<String>,
    pub phonenumber: Option<String>,
    pub mobilenumber: Option<String>,
    /// The user's custom field values (`customfields`), by definition id.
    #[serde(default)]
    pub customfields: Vec<HaloCustomFieldValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloAssetType {
    pub id: i64,
    pub name: String,
    /// The field whose value the asset's read-only `key_field` projects (`Xtype.keyfield_id`).
    #[serde(default)]
    pub keyfield_id: Option<i64>,
    /// The asset fields (definition ids) this type has: `Xtype.fields` on
    /// `GET /api/AssetType/{id}?includedetails=true`.
    #[serde(default)]
    pub fields: Vec<i64>,
}

/// The standard asset field definitions of [`World::empty`]. Field definitions have their
/// own id range (900+), apart from the records' shared counter.
pub const ASSET_FIELD_SERIAL: i64 = 901;
pub const ASSET_FIELD_MODEL: i64 = 902;
pub const ASSET_FIELD_OS: i64 = 903;
pub const ASSET_FIELD_LAST_SEEN: i64 = 904;
/// A field the integrator never owns (its values must survive every update).
pub const ASSET_FIELD_WARRANTY: i64 = 905;
/// Where the `csv-assets` import keeps its link (`CSV_ASSETS_LINK_FIELD` in tests and demo).
pub const ASSET_FIELD_CSV_KEY: i64 = 906;
/// A value column for `csv-assets` (`field:907`).
pub const ASSET_FIELD_RAM: i64 = 907;
/// The key field of the standard asset types: what an asset's read-only `key_field` shows
/// (hand-made assets often carry their serial number here).
pub const ASSET_FIELD_TAG: i64 = 908;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloAssetFieldDef {
    pub id: i64,
    pub name: String,
}

/// One value of an asset's `fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloAssetFieldValue {
    pub id: i64,
    pub value: String,
}

/// A Halo asset. Its `key_field` is not stored: the API projects it from the field its
/// asset type names (`keyfield_id`), see [`World::asset_key_field`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloAsset {
    pub id: i64,
    pub inventory_number: String,
    pub assettype_id: i64,
    pub client_id: i64,
    pub site_id: i64,
    pub intune_id: Option<String>,
    pub inactive: bool,
    /// The asset's people (`users: [{id}]` on the full `Device` model; not on `Device_List`).
    #[serde(default)]
    pub users: Vec<i64>,
    pub fields: Vec<HaloAssetFieldValue>,
    /// One of the world's `asset_statuses` (Active when a world JSON has none).
    #[serde(default = "default_asset_status")]
    pub status_id: i64,
    /// The asset's custom field values (`customfields`), by definition id.
    #[serde(default)]
    pub customfields: Vec<HaloCustomFieldValue>,
}

impl HaloAsset {
    /// A Halo asset mirroring `device` exactly under the integrator's mapping (standard
    /// fields, see the module table), linked by `intune_id`, without a user. The id is 0
    /// until added to a world.
    pub fn from_device(
        device: &ManagedDevice,
        client_id: i64,
        site_id: i64,
        assettype_id: i64,
    ) -> HaloAsset {
        let fields = [
            (ASSET_FIELD_SERIAL, device.serial_number.clone()),
            (ASSET_FIELD_MODEL, device.model.clone()),
            (ASSET_FIELD_OS, Some(device.os())),
            (
                ASSET_FIELD_LAST_SEEN,
                Some(device.last_sync_date_time.clone()),
            ),
        ]
        .into_iter()
        .filter_map(|(id, v)| {
            v.filter(|v| !v.is_empty())
                .map(|value| HaloAssetFieldValue { id, value })
        })
        .collect();
        HaloAsset {
            id: 0,
            inventory_number: device.device_name.clone(),
            assettype_id,
            client_id,
            site_id,
            intune_id: Some(device.id.clone()),
            inactive: false,
            users: Vec::new(),
            fields,
            status_id: default_asset_status(),
            customfields: Vec::new(),
        }
    }

    /// Sets field `id` to `value` (replacing an earlier value).
    pub fn set_field(&mut self, id: i64, value: &str) {
        self.fields.retain(|f| f.id != id);
        self.fields.push(HaloAssetFieldValue {
            id,
            value: value.to_string(),
        });
    }

    /// The value of field `id`, if set.
    pub fn field(&self, id: i64) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.value.as_str())
    }
}

/// An Intune managed device, serialized with Graph's camelCase property names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDevice {
    pub id: String,
    pub device_name: String,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub operating_system: String,
    pub os_version: String,
    pub user_principal_name: Option<String>,
    pub email_address: Option<String>,
    #[serde(rename = "azureADDeviceId")]
    pub azure_ad_device_id: Option<String>,
    pub last_sync_date_time: String,
    /// `compliant`, `noncompliant`, `unknown`...
    pub compliance_state: String,
    /// Phones: the IMEI (`imei` on Graph's managedDevice).
    #[serde(default)]
    pub imei: Option<String>,
    /// Phones: the phone number (`phoneNumber` on Graph's managedDevice).
    #[serde(default)]
    pub phone_number: Option<String>,
}

impl ManagedDevice {
    /// A compliant Windows laptop with the given id, name, serial and primary user.
    pub fn laptop(id: &str, name: &str, serial: &str, upn: Option<&str>) -> ManagedDevice {
        ManagedDevice {
            id: id.to_string(),
            device_name: name.to_string(),
            serial_number: Some(serial.to_string()),
            manufacturer: Some("Dell Inc.".to_string()),
            model: Some("Latitude 7440".to_string()),
            operating_system: "Windows".to_string(),
            os_version: "10.0.22631.4460".to_string(),
            user_principal_name: upn.map(str::to_string),
            email_address: upn.map(str::to_string),
            azure_ad_device_id: None,
            last_sync_date_time: "2026-11-27T08:15:00Z".to_string(),
            compliance_state: "compliant".to_string(),
            imei: None,
            phone_number: None,
        }
    }

    /// The OS as the integrator writes it: `operatingSystem osVersion`.
    pub fn os(&self) -> String {
        format!("{} {}", self.operating_system, self.os_version)
            .trim()
            .to_string()
    }
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
    /// `DeviceManagementManagedDevices.Read.All` is granted (else 403).
    #[serde(default = "granted")]
    pub can_read_devices: bool,
    /// Intune managed devices.
    #[serde(default)]
    pub devices: Vec<ManagedDevice>,
    /// The tenant has an Intune licence (else Intune routes answer 400 "Request not
    /// applicable to target tenant.").
    #[serde(default = "granted")]
    pub intune_licensed: bool,
}

fn granted() -> bool {
    true
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
    #[serde(default)]
    pub office_location: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub employee_id: Option<String>,
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
            office_location: None,
            city: None,
            country: None,
            company_name: None,
            employee_id: None,
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
            other: BTreeMap::new(),
            site_id,
            client_id,
            inactive: false,
            title: entra.job_title.clone(),
            phonenumber: entra.business_phones.first().cloned(),
            mobilenumber: entra.mobile_phone.clone(),
            customfields: Vec::new(),
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
                assets: Vec::new(),
                asset_fields: [
                    (ASSET_FIELD_SERIAL, "Serial Number"),
                    (ASSET_FIELD_MODEL, "Model"),
                    (ASSET_FIELD_OS, "Operating System"),
                    (ASSET_FIELD_LAST_SEEN, "Last Seen"),
                    (ASSET_FIELD_WARRANTY, "Warranty Expiry"),
                    (ASSET_FIELD_CSV_KEY, "Integrator CSV Key"),
                    (ASSET_FIELD_RAM, "RAM"),
                    (ASSET_FIELD_TAG, "Asset Tag"),
                ]
                .into_iter()
                .map(|(id, name)| HaloAssetFieldDef {
                    id,
                    name: name.to_string(),
                })
                .collect(),
                user_custom_fields: standard_user_custom_fields(),
                asset_custom_fields: standard_asset_custom_fields(),
                asset_statuses: standard_asset_statuses(),
                reports: Vec::new(),
                tickets: Vec::new(),
                desk: ServiceDesk::default(),
                next_id: 1,
            },
            entra: EntraWorld::default(),
            credentials: Credentials::default(),
        };
        let fields: Vec<i64> = world.halo.asset_fields.iter().map(|f| f.id).collect();
        for name in ["Workstation", "Laptop", "Server", "Mobile Phone"] {
            let id = world.next_halo_id();
            world.halo.asset_types.push(HaloAssetType {
                id,
                name: name.to_string(),
                keyfield_id: Some(ASSET_FIELD_TAG),
                fields: fields.clone(),
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
            inactive: false,
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
            can_read_devices: true,
            devices: Vec::new(),
            intune_licensed: true,
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

    /// Adds a Halo asset, assigning a fresh id (the `id` field of `asset` is ignored).
    pub fn add_halo_asset(&mut self, mut asset: HaloAsset) -> i64 {
        asset.id = self.next_halo_id();
        let id = asset.id;
        self.halo.assets.push(asset);
        id
    }

    /// The Halo asset with this id.
    pub fn halo_asset(&self, id: i64) -> Option<&HaloAsset> {
        self.halo.assets.iter().find(|a| a.id == id)
    }

    /// The id of the asset type with this name.
    pub fn asset_type_id(&self, name: &str) -> Option<i64> {
        self.halo
            .asset_types
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.id)
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

    /// What the API shows as the asset's read-only `key_field`: the value of the field its
    /// asset type names as key field.
    pub fn asset_key_field<'a>(&self, asset: &'a HaloAsset) -> Option<&'a str> {
        let key = self
            .halo
            .asset_types
            .iter()
            .find(|t| t.id == asset.assettype_id)?
            .keyfield_id?;
        asset.field(key).filter(|v| !v.is_empty())
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
