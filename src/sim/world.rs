//! The simulator's data model: HaloPSA records (users, assets and their fields), Entra
//! tenants with their users and Intune managed devices, the credentials the simulated
//! services accept, and small builders for tests. The deterministic seeds
//! ([`World::demo`], [`World::synthetic`], [`World::synthetic_devices`]) are in
//! [`super::seed`].
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

use std::collections::BTreeMap;

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
