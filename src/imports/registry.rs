//! The one list of imports this build knows. Adding an import is a folder in
//! `src/imports/` implementing [`super::unit::Import`] plus one line here (and its rows in
//! the chart and the README, which the checks hold against `halo-integrator vars`).

use super::unit::Unit;
use super::{csv_assets, entra_users, intune_devices, ldap_users};

/// Every import, in the order `halo-integrator vars` lists their variables.
pub(crate) static IMPORTS: &[&dyn Unit] = &[
    &entra_users::EntraUsers,
    &intune_devices::IntuneDevices,
    &csv_assets::CsvAssets,
    &ldap_users::LdapUsers,
];
