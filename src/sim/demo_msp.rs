//! The part of [`World::demo`] that MSP-style mappings (site rules, user and asset custom
//! fields, asset-type rules, asset statuses) work on. It runs after the rest of the demo is
//! seeded, uses no random numbers and hands out ids only after every other record, so the
//! rest of the demo (its counts, ids and values) stays as it was; without a mapping the
//! integrator sees no difference (it neither moves existing users between sites nor writes
//! custom fields).
//!
//! Per tenant (the client's name in brackets):
//!
//! | tenant | head office (`officeLocation` = `city`) | branch (`officeLocation` = `city`) | branch site | `country` |
//! |---|---|---|---|---|
//! | Contoso (Contoso Ltd) | London | Leeds | "Leeds Office" | United Kingdom |
//! | Fabrikam (Fabrikam Inc) | Seattle | Portland | "Portland Office" | United States |
//! | Northwind (Northwind Traders) | Chicago | Denver | "Denver Office" | United States |
//! | Litware (Litware Inc, inactive) | Paris | Lyon | none | France |
//!
//! Every active client linked to a tenant keeps its site "Main" (the main site) and gets the
//! branch site (ids handed out after every other demo record); Contoso
//! also has an inactive site "Reading Office". Entra members, by their index `i` among the
//! tenant's members (the order of [`World::demo`]'s composition): `officeLocation`/`city`
//! the branch when `i % 10` is 1, 4 or 7, none when it is 9, else the head office;
//! `country` always; `companyName` the client's name; `employeeId` `CON-0001`, `CON-0002`…
//! (the tenant's first three letters, `i + 1`); `department` as before (every member has
//! one). Guests get none of these.
//!
//! Halo users of branch members (linked by `azureoid`, or the e-mail-only ones) sit on the
//! branch site, except the first two in-sync branch members per tenant, left on "Main"
//! (what a rule `officeLocation: <branch>` moves). Halo users linked by `azureoid` carry the
//! user custom field `CFDepartment` (142) with their Entra `department`, except the first two
//! in-sync members not at the branch, whose value is the stale "Administration". `CFOffice`
//! (143) and `CFEmployeeId` (144) have no values.
//!
//! Devices: of each tenant's 28 managed devices (index `j`), `j % 6 == 2` are iPhones
//! (`operatingSystem` "iOS", manufacturer "Apple", model "iPhone 15") and `j % 6 == 5`
//! Android phones ("Android", "samsung", "Galaxy S23"); phones are named `XXX-PH0nnn`
//! instead of `XXX-LT0nnn` and have `imei` and `phoneNumber`. Among them the new (to be
//! created) devices 23 (Android) and 26 (iPhone). The Halo assets of phones are of type
//! "Mobile Phone" and carry the asset custom fields `CFPhoneNumber` (161) and `CFIMEI`
//! (162) with the device's values; each client's hand-made printer has status 2
//! "In Repair", every other asset 1 "Active".

use super::custom_fields::{
    ASSET_CF_IMEI, ASSET_CF_PHONE_NUMBER, ASSET_STATUS_IN_REPAIR, USER_CF_DEPARTMENT,
    set_custom_field,
};
use super::seed::DEMO_FIRST_IN_SYNC_USER;
use super::world::{HaloSite, ManagedDevice, World};

/// One tenant's offices: (tenant name, head office city, branch city, branch site, country).
const OFFICES: [(&str, &str, &str, &str, &str); 4] = [
    (
        "Contoso",
        "London",
        "Leeds",
        "Leeds Office",
        "United Kingdom",
    ),
    (
        "Fabrikam",
        "Seattle",
        "Portland",
        "Portland Office",
        "United States",
    ),
    (
        "Northwind",
        "Chicago",
        "Denver",
        "Denver Office",
        "United States",
    ),
    ("Litware", "Paris", "Lyon", "Lyon Office", "France"),
];

/// Contoso's closed site (inactive).
pub const DEMO_INACTIVE_SITE: &str = "Reading Office";
/// The stale `CFDepartment` value of two in-sync users per tenant.
pub const DEMO_STALE_DEPARTMENT: &str = "Administration";
/// Branch members left on "Main", and stale `CFDepartment` values, per tenant.
const DEMO_MISPLACED: usize = 2;

/// Makes device `j` of a demo tenant a phone where the pattern says so (see the module
/// documentation); other devices stay as they are. Draws no random numbers.
pub(super) fn phone(j: usize, device: &mut ManagedDevice) {
    let (manufacturer, model, os, version) = match j % 6 {
        2 => ("Apple", "iPhone 15", "iOS", "17.6.1"),
        5 => ("samsung", "Galaxy S23", "Android", "14"),
        _ => return,
    };
    let digits = device
        .serial_number
        .as_deref()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .unwrap_or(j as u64);
    device.device_name = device.device_name.replacen("-LT", "-PH", 1);
    device.manufacturer = Some(manufacturer.to_string());
    device.model = Some(model.to_string());
    device.operating_system = os.to_string();
    device.os_version = version.to_string();
    device.imei = Some(format!("35{:013}", digits % 10_000_000_000_000));
    device.phone_number = Some(format!("+1 206 555 {:04}", digits % 10_000));
}

/// Whether a managed device is one of the demo's phones.
fn is_phone(device: &ManagedDevice) -> bool {
    matches!(device.operating_system.as_str(), "iOS" | "Android")
}

/// Adds the sites, Entra user properties, site placements, custom field values and asset
/// types and statuses described in the module documentation.
pub(super) fn seed(world: &mut World) {
    let mobile_phone = world.asset_type_id("Mobile Phone");
    let clients: Vec<(i64, String, bool, String)> = world
        .halo
        .clients
        .iter()
        .filter_map(|c| {
            let tenant = c.azure_tenants.first()?.azure_tenant_id.clone();
            Some((c.id, c.name.clone(), c.inactive, tenant))
        })
        .collect();
    for (client_id, client_name, inactive, tenant_id) in clients {
        let Some(tenant) = world.tenant_mut(&tenant_id) else {
            continue;
        };
        let Some(&(_, head, branch_city, branch_site, country)) =
            OFFICES.iter().find(|o| o.0 == tenant.name)
        else {
            continue;
        };
        let prefix: String = tenant
            .name
            .chars()
            .take(3)
            .collect::<String>()
            .to_uppercase();
        for (i, user) in tenant
            .users
            .iter_mut()
            .filter(|u| u.user_type == "Member")
            .enumerate()
        {
            let office = match i % 10 {
                1 | 4 | 7 => Some(branch_city),
                9 => None,
                _ => Some(head),
            };
            user.office_location = office.map(str::to_string);
            user.city = office.map(str::to_string);
            user.country = Some(country.to_string());
            user.company_name = Some(client_name.clone());
            user.employee_id = Some(format!("{prefix}-{:04}", i + 1));
        }
        if inactive {
            continue;
        }
        let members: Vec<_> = tenant
            .users
            .iter()
            .filter(|u| u.user_type == "Member")
            .cloned()
            .collect();
        let devices: Vec<ManagedDevice> = tenant.devices.clone();

        let branch = world.next_halo_id();
        world.halo.sites.push(HaloSite {
            id: branch,
            name: branch_site.to_string(),
            client_id,
            inactive: false,
        });
        if client_name == "Contoso Ltd" {
            let closed = world.next_halo_id();
            world.halo.sites.push(HaloSite {
                id: closed,
                name: DEMO_INACTIVE_SITE.to_string(),
                client_id,
                inactive: true,
            });
        }

        let (mut left_on_main, mut stale) = (0, 0);
        for (i, entra) in members.iter().enumerate() {
            let email = entra.mail.as_deref().unwrap_or(&entra.user_principal_name);
            let Some(halo) = world.halo.users.iter_mut().find(|h| {
                h.client_id == client_id
                    && match &h.azureoid {
                        Some(oid) => *oid == entra.id,
                        None => h.emailaddress.eq_ignore_ascii_case(email),
                    }
            }) else {
                continue;
            };
            let linked = halo.azureoid.is_some();
            let in_sync = i >= DEMO_FIRST_IN_SYNC_USER;
            if linked && let Some(department) = &entra.department {
                set_custom_field(&mut halo.customfields, USER_CF_DEPARTMENT, department);
            }
            if entra.office_location.as_deref() == Some(branch_city) {
                if in_sync && linked && left_on_main < DEMO_MISPLACED {
                    left_on_main += 1;
                } else {
                    halo.site_id = branch;
                }
            } else if in_sync && linked && stale < DEMO_MISPLACED {
                set_custom_field(
                    &mut halo.customfields,
                    USER_CF_DEPARTMENT,
                    DEMO_STALE_DEPARTMENT,
                );
                stale += 1;
            }
        }

        for asset in world
            .halo
            .assets
            .iter_mut()
            .filter(|a| a.client_id == client_id)
        {
            if asset.inventory_number.ends_with("-PRINTER-01") {
                asset.status_id = ASSET_STATUS_IN_REPAIR;
            }
            let Some(device) = asset
                .intune_id
                .as_ref()
                .and_then(|id| devices.iter().find(|d| &d.id == id))
                .filter(|d| is_phone(d))
            else {
                continue;
            };
            if let Some(mobile_phone) = mobile_phone {
                asset.assettype_id = mobile_phone;
            }
            for (field, value) in [
                (ASSET_CF_PHONE_NUMBER, &device.phone_number),
                (ASSET_CF_IMEI, &device.imei),
            ] {
                if let Some(value) = value {
                    set_custom_field(&mut asset.customfields, field, value);
                }
            }
        }
    }
}
