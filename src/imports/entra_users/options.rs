//! The options of `entra-users`: the `ENTRA_USERS_*` variables, validated only when the
//! import is enabled.

use crate::config::vars::{Var, own};
use crate::config::{Common, Env, Validator};
use crate::mapping::{ImportMapping, UserSection};

#[derive(Debug, Clone, Default)]
pub struct EntraUsersOptions {
    /// Its section of the mapping file.
    pub mapping: ImportMapping<UserSection>,
    /// `ENTRA_USERS_INCLUDE_GUESTS`: guests are synced too.
    pub include_guests: bool,
    /// `ENTRA_USERS_FILTER`: a Graph `$filter` on the users read.
    pub filter: Option<String>,
}

/// Its rows of the variable table.
pub(super) const VARS: &[Var] = &[
    own("ENTRA_USERS_INCLUDE_GUESTS", "false"),
    own("ENTRA_USERS_FILTER", "unset"),
];

/// Reads and validates the `ENTRA_USERS_*` variables.
pub(super) fn options(
    env: &Env,
    v: &mut Validator,
    _: &Common,
    mapping: ImportMapping<UserSection>,
) -> Option<EntraUsersOptions> {
    Some(EntraUsersOptions {
        mapping,
        include_guests: v
            .boolean(
                "ENTRA_USERS_INCLUDE_GUESTS",
                env.get("ENTRA_USERS_INCLUDE_GUESTS"),
            )
            .unwrap_or(false),
        filter: Validator::optional(env.get("ENTRA_USERS_FILTER")),
    })
}
