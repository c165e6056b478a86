//! Halo clients found by what a file or directory mapping calls them: a name (trimmed,
//! case-insensitive) or an id, for the imports that are not per Entra tenant.

use std::collections::HashMap;

use crate::halo::Client;

/// Active Halo clients by id and by lower-cased name.
pub struct Clients<'a> {
    by_id: HashMap<i64, &'a Client>,
    by_name: HashMap<String, Vec<&'a Client>>,
}

impl<'a> Clients<'a> {
    pub fn new(clients: &'a [Client]) -> Self {
        let mut by_id = HashMap::new();
        let mut by_name: HashMap<String, Vec<&Client>> = HashMap::new();
        for c in clients {
            by_id.insert(c.id, c);
            if let Some(name) = &c.name {
                by_name
                    .entry(name.trim().to_lowercase())
                    .or_default()
                    .push(c);
            }
        }
        Clients { by_id, by_name }
    }

    /// The active client a value names (a name first, then a numeric id).
    pub fn find(&self, cell: &str) -> Result<&'a Client, String> {
        let named = self.by_name.get(&cell.to_lowercase());
        let client = match named.map(Vec::as_slice) {
            Some([one]) => *one,
            Some(several) if several.len() > 1 => {
                let names: Vec<String> = several.iter().map(|c| c.display_name()).collect();
                return Err(format!(
                    "several Halo clients are named '{cell}': {}; use the client id",
                    names.join(", ")
                ));
            }
            _ => match cell.parse::<i64>().ok().and_then(|id| self.by_id.get(&id)) {
                Some(c) => *c,
                None => return Err(format!("no Halo client is named or has the id '{cell}'")),
            },
        };
        if client.inactive {
            return Err(format!(
                "the Halo client {} is inactive",
                client.display_name()
            ));
        }
        Ok(client)
    }
}
