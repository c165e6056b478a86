//! Which Entra tenants this run syncs, and into which Halo client: pure resolution of
//! `ENTRA_TENANTS` (or `auto`), `--tenant` and the shard against Halo's client list.

use crate::config::{Shard, TenantSelection};
use crate::halo::Client;

/// A tenant to sync and the Halo client it maps to.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantTarget {
    pub tenant: String,
    pub client: Client,
}

/// A tenant that cannot be synced, with the reason an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantProblem {
    pub tenant: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub targets: Vec<TenantTarget>,
    pub problems: Vec<TenantProblem>,
}

/// Maps tenants to clients. Only active clients count; a tenant linked to no client or
/// to several is a problem (reported by id and client names), never a guess.
pub fn resolve(
    clients: &[Client],
    selection: &TenantSelection,
    only: &[String],
    shard: Shard,
) -> Directory {
    let active: Vec<&Client> = clients.iter().filter(|c| !c.inactive).collect();
    let links = |tenant: &str| -> Vec<&Client> {
        active
            .iter()
            .copied()
            .filter(|c| {
                c.azure_tenants.iter().any(|t| {
                    t.azure_tenant_id
                        .as_deref()
                        .is_some_and(|id| id.trim().eq_ignore_ascii_case(tenant))
                })
            })
            .collect()
    };
    let tenants: Vec<String> = match selection {
        TenantSelection::List(list) => list.clone(),
        TenantSelection::Auto => {
            let mut seen = Vec::new();
            for c in &active {
                for t in &c.azure_tenants {
                    if let Some(id) = t
                        .azure_tenant_id
                        .as_deref()
                        .map(|s| s.trim().to_ascii_lowercase())
                        && !id.is_empty()
                        && !seen.contains(&id)
                    {
                        seen.push(id);
                    }
                }
            }
            seen
        }
    };
    let only: Vec<String> = only.iter().map(|t| t.trim().to_ascii_lowercase()).collect();
    let mut dir = Directory::default();
    if matches!(selection, TenantSelection::Auto) && tenants.is_empty() && !active.is_empty() {
        // Never a silent success: a Halo that answers without the links (or a setup that
        // has none) must show up.
        dir.problems.push(TenantProblem {
            tenant: "auto".into(),
            message: format!(
                "ENTRA_TENANTS=auto found no Entra tenant linked to any of the {} active Halo \
                 clients; link each customer to its tenant in Halo (the client's Azure \
                 tenants) or list the tenant ids in ENTRA_TENANTS",
                active.len()
            ),
        });
    }
    for wanted in &only {
        if !tenants.contains(wanted) {
            dir.problems.push(TenantProblem {
                tenant: wanted.clone(),
                message: match selection {
                    TenantSelection::Auto => {
                        "--tenant names a tenant that no active Halo client links".into()
                    }
                    TenantSelection::List(_) => {
                        "--tenant names a tenant that is not in ENTRA_TENANTS".into()
                    }
                },
            });
        }
    }
    for tenant in tenants {
        if (!only.is_empty() && !only.contains(&tenant)) || !shard.owns(&tenant) {
            continue;
        }
        match links(&tenant).as_slice() {
            [] => dir.problems.push(TenantProblem {
                tenant,
                message: "no active Halo client links this tenant (Client → Azure tenants in Halo); skipped".into(),
            }),
            [client] => dir.targets.push(TenantTarget {
                tenant,
                client: (*client).clone(),
            }),
            several => {
                let names: Vec<String> = several.iter().map(|c| c.display_name()).collect();
                dir.problems.push(TenantProblem {
                    tenant,
                    message: format!(
                        "linked to several Halo clients: {}; link it to one client only; skipped",
                        names.join(", ")
                    ),
                })
            }
        }
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo::model::AzureTenant;

    const A: &str = "aaaaaaaa-0000-0000-0000-000000000001";
    const B: &str = "bbbbbbbb-0000-0000-0000-000000000002";
    const C: &str = "cccccccc-0000-0000-0000-000000000003";

    fn client(id: i64, name: &str, inactive: bool, tenants: &[&str]) -> Client {
        Client {
            id,
            name: Some(name.into()),
            inactive,
            main_site_id: Some(id * 10),
            azure_tenants: tenants
                .iter()
                .map(|t| AzureTenant {
                    azure_tenant_id: Some(t.to_string()),
                    azure_tenant_name: None,
                })
                .collect(),
        }
    }

    fn one_shard() -> Shard {
        Shard { count: 1, index: 0 }
    }

    fn targets(d: &Directory) -> Vec<(String, i64)> {
        d.targets
            .iter()
            .map(|t| (t.tenant.clone(), t.client.id))
            .collect()
    }

    #[test]
    fn auto_takes_every_tenant_of_active_clients() {
        let clients = [
            client(1, "Contoso", false, &[A]),
            client(2, "Fabrikam", false, &[&B.to_uppercase()]),
            client(3, "Old Co", true, &[C]),
            client(4, "No tenant", false, &[]),
        ];
        let d = resolve(&clients, &TenantSelection::Auto, &[], one_shard());
        assert_eq!(targets(&d), vec![(A.into(), 1), (B.into(), 2)]);
        assert!(d.problems.is_empty());
    }

    #[test]
    fn auto_without_any_linked_tenant_is_a_problem_not_a_silent_success() {
        let clients = [
            client(1, "Contoso", false, &[]),
            client(2, "Old Co", true, &[A]),
        ];
        let d = resolve(&clients, &TenantSelection::Auto, &[], one_shard());
        assert!(d.targets.is_empty());
        assert_eq!(d.problems.len(), 1);
        assert!(
            d.problems[0]
                .message
                .contains("no Entra tenant linked to any of the 1 active"),
            "{}",
            d.problems[0].message
        );
        let none_active = resolve(&clients[1..], &TenantSelection::Auto, &[], one_shard());
        assert!(
            none_active.problems.is_empty(),
            "no active client: nothing to sync"
        );
        let listed = TenantSelection::List(vec![]);
        assert!(
            resolve(&clients, &listed, &[], one_shard())
                .problems
                .is_empty()
        );
    }

    #[test]
    fn ambiguous_and_unlinked_tenants_are_problems_naming_clients() {
        let clients = [
            client(1, "Contoso", false, &[A]),
            client(2, "Contoso Duplicate", false, &[A]),
            client(3, "Fabrikam", false, &[B]),
            client(4, "Old Co", true, &[C]),
        ];
        let d = resolve(&clients, &TenantSelection::Auto, &[], one_shard());
        assert_eq!(targets(&d), vec![(B.into(), 3)]);
        assert_eq!(d.problems.len(), 1);
        assert_eq!(d.problems[0].tenant, A);
        assert!(d.problems[0].message.contains("Contoso (id 1)"));
        assert!(d.problems[0].message.contains("Contoso Duplicate (id 2)"));

        let list = TenantSelection::List(vec![B.into(), C.into()]);
        let d = resolve(&clients, &list, &[], one_shard());
        assert_eq!(targets(&d), vec![(B.into(), 3)]);
        assert_eq!(d.problems[0].tenant, C, "linked only to an inactive client");
        assert!(d.problems[0].message.contains("no active Halo client"));
    }

    #[test]
    fn tenant_filter_narrows_and_reports_unknown_ids() {
        let clients = [
            client(1, "Contoso", false, &[A]),
            client(2, "Fabrikam", false, &[B]),
        ];
        let only = vec![B.to_uppercase(), C.into()];
        let d = resolve(&clients, &TenantSelection::Auto, &only, one_shard());
        assert_eq!(targets(&d), vec![(B.into(), 2)]);
        assert_eq!(d.problems.len(), 1);
        assert_eq!(d.problems[0].tenant, C);
    }

    #[test]
    fn shards_partition_the_tenants() {
        let ids: Vec<String> = (0..30)
            .map(|i| format!("{i:08x}-0000-0000-0000-000000000000"))
            .collect();
        let clients: Vec<Client> = ids
            .iter()
            .enumerate()
            .map(|(i, t)| client(i as i64 + 1, "c", false, &[t]))
            .collect();
        let mut all: Vec<String> = (0..3)
            .flat_map(|index| {
                resolve(
                    &clients,
                    &TenantSelection::Auto,
                    &[],
                    Shard { count: 3, index },
                )
                .targets
                .into_iter()
                .map(|t| t.tenant)
            })
            .collect();
        all.sort();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(all, expected, "every tenant on exactly one shard");
    }
}
