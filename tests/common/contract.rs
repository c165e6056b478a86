//! Halo's published API contract (`tests/fixtures/halo-openapi-subset.json`: the query
//! parameters of each path, the body model of each POST, the properties of each model) held
//! against the simulator's request log: every request the product sent (path, query
//! parameter names, body property names) and every record the simulator answered. A name
//! Halo does not have is a violation, reported with the request it came from.

use std::sync::OnceLock;

use halo_integrator::sim::{RequestRecord, Service};
use serde_json::{Map, Value};

const FIXTURE: &str = include_str!("../fixtures/halo-openapi-subset.json");

/// The contract facts: paths (templates such as `/Users/{id}`) and models.
pub struct Contract {
    paths: Map<String, Value>,
    schemas: Map<String, Value>,
}

pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let mut doc: Value = serde_json::from_str(FIXTURE).expect("the contract fixture is JSON");
        let mut take = |key: &str| match doc[key].take() {
            Value::Object(map) => map,
            _ => panic!("the contract fixture has no {key}"),
        };
        Contract {
            paths: take("paths"),
            schemas: take("schemas"),
        }
    })
}

impl Contract {
    /// The fixture path a request path (`/api/Users/12`) stands for, with its operations.
    fn route(&self, path: &str) -> Option<(&str, &Map<String, Value>)> {
        let rest = path
            .get(4..)
            .filter(|_| path[..4].eq_ignore_ascii_case("/api"))?;
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        self.paths.iter().find_map(|(template, ops)| {
            let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
            let fits = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p.starts_with('{') || p.eq_ignore_ascii_case(s));
            if !fits {
                return None;
            }
            ops.as_object().map(|o| (template.as_str(), o))
        })
    }

    /// The properties of a model, if the fixture has it.
    fn model(&self, name: &str) -> Option<&Map<String, Value>> {
        self.schemas.get(name)?.as_object()
    }

    /// The model of `array<Model>` / `Model`, if the fixture has it.
    fn element_model(&self, ty: &str) -> Option<&Map<String, Value>> {
        let name = ty
            .strip_prefix("array<")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(ty);
        self.model(name)
    }

    /// Checks `properties` (`name` or `name[].child`, as the request log writes them)
    /// against `model_name`; each violation names the property.
    fn check_properties<'a>(
        &self,
        model_name: &str,
        properties: impl IntoIterator<Item = &'a str>,
        what: &str,
        out: &mut Vec<String>,
    ) {
        let Some(model) = self.model(model_name) else {
            out.push(format!("{what}: model {model_name} is not in the contract"));
            return;
        };
        for property in properties {
            let mut parts = property.split("[].");
            let top = parts.next().unwrap_or_default();
            let Some(ty) = model.get(top).and_then(Value::as_str) else {
                out.push(format!("{what}: {model_name} has no property '{top}'"));
                continue;
            };
            // One level of child records, where the contract names their model.
            if let (Some(child), Some(child_model)) = (parts.next(), self.element_model(ty))
                && !child_model.contains_key(child)
            {
                let child_name = ty.trim_start_matches("array<").trim_end_matches('>');
                out.push(format!(
                    "{what}: {child_name} (in {model_name}.{top}) has no property '{child}'"
                ));
            }
        }
    }

    /// The violations of one logged request (Halo API only).
    pub fn check(&self, r: &RequestRecord) -> Vec<String> {
        let mut out = Vec::new();
        if r.service != Service::HaloApi {
            return out;
        }
        let what = format!("{} {}", r.method, r.path);
        let Some((template, ops)) = self.route(&r.path) else {
            out.push(format!("{what}: no such path in Halo's API"));
            return out;
        };
        let method = r.method.to_ascii_lowercase();
        let Some(op) = ops.get(&method) else {
            out.push(format!("{what}: Halo's {template} has no {}", r.method));
            return out;
        };
        let known: Vec<&str> = op["query"]
            .as_array()
            .map(|q| q.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, _) in url::form_urlencoded::parse(r.query.as_bytes()) {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(&name)) {
                out.push(format!(
                    "{what}: Halo's {template} has no query parameter '{name}'"
                ));
            }
        }
        let body_model = op["body"].as_str().map(|ty| {
            ty.strip_prefix("array<")
                .and_then(|t| t.strip_suffix('>'))
                .unwrap_or(ty)
                .to_string()
        });
        if let (Some(model), Some(body)) = (&body_model, &r.body)
            && let Ok(body) = serde_json::from_str::<Value>(body)
        {
            let items = match &body {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for item in items {
                let Value::Object(map) = item else { continue };
                let mut properties = Vec::new();
                for (key, value) in map {
                    properties.push(key.clone());
                    if let Value::Array(children) = value {
                        for child in children.iter().filter_map(Value::as_object) {
                            properties.extend(child.keys().map(|c| format!("{key}[].{c}")));
                        }
                    }
                }
                self.check_properties(
                    model,
                    properties.iter().map(String::as_str),
                    &format!("{what} body"),
                    &mut out,
                );
            }
        }
        if r.status == Some(200) && !r.response_properties.is_empty() {
            // What the answer holds: the POST body's model (a saved record, or a report);
            // a list answers with its `*_List` model where the contract has one.
            let entity = template.split('/').nth(1).unwrap_or_default();
            let full = self
                .paths
                .get(&format!("/{entity}"))
                .and_then(|p| p["post"]["body"].as_str())
                .map(|ty| {
                    ty.trim_start_matches("array<")
                        .trim_end_matches('>')
                        .to_string()
                });
            let model = match (full, template.contains('{') || method == "post") {
                (Some(full), true) => Some(full),
                (Some(full), false) => Some(
                    Some(format!("{full}_List"))
                        .filter(|l| self.schemas.contains_key(l))
                        .unwrap_or(full),
                ),
                (None, _) => None,
            };
            match model {
                Some(model) => self.check_properties(
                    &model,
                    r.response_properties.iter().map(String::as_str),
                    &format!("{what} answer"),
                    &mut out,
                ),
                None => out.push(format!(
                    "{what} answer: no model for {template} in the contract"
                )),
            }
        }
        out
    }

    /// Every violation in a request log, each once.
    pub fn violations(&self, requests: &[RequestRecord]) -> Vec<String> {
        let mut all: Vec<String> = requests.iter().flat_map(|r| self.check(r)).collect();
        all.sort();
        all.dedup();
        all
    }
}
