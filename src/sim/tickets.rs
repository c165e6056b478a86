//! The simulated service desk: tickets (`GET`/`POST /api/Tickets`, `GET /api/Tickets/{id}`,
//! the `Faults` model) and the notes added to them (`POST /api/Actions`), as Halo's contract
//! has them. Awkward parts kept: the list filters on `client_id`, `open_only` and
//! `search_summary` (no filter on `third_party_id*`); an action without an outcome is
//! rejected; a ticket type, status or outcome id that the desk does not have is a 400.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::halo::{
    Item, Reject, Reply, commit, envelope, flag, id_value, not_found, number, ok_json, parse_id,
    record, reject, write_items, write_response,
};
use super::world::{HaloAction, HaloTicket, World};
use super::{Ctx, State};

fn ticket_json(world: &World, t: &HaloTicket, float: bool) -> Value {
    record([
        ("id", id_value(t.id, float)),
        ("summary", json!(t.summary)),
        ("details", json!(t.details)),
        ("client_id", id_value(t.client_id, float)),
        (
            "client_name",
            json!(world.client(t.client_id).map(|c| &c.name)),
        ),
        ("site_id", id_value(t.site_id, float)),
        ("tickettype_id", id_value(t.tickettype_id, float)),
        ("status_id", id_value(t.status_id, float)),
        ("team", json!(t.team)),
        ("agent_id", json!(t.agent_id)),
        ("third_party_id_string", json!(t.third_party_id_string)),
    ])
}

/// Routes `/api/Tickets...` and `/api/Actions`.
pub(super) fn route(ctx: &Ctx<'_>, st: &mut State, segments: &[&str], post: bool) -> Reply {
    match (segments, post) {
        (["tickets"], false) => list(ctx, &st.world),
        (["tickets"], true) => write_tickets(ctx, &mut st.world),
        (["tickets", id], false) => {
            let id = parse_id(id)?;
            let world = &st.world;
            let t = world
                .halo
                .tickets
                .iter()
                .find(|t| t.id == id)
                .ok_or_else(|| not_found(id))?;
            Ok(ok_json(ticket_json(world, t, false)))
        }
        (["actions"], true) => write_actions(ctx, &mut st.world),
        _ => Err(reject(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")),
    }
}

fn list(ctx: &Ctx<'_>, world: &World) -> Reply {
    let client_id = number(ctx, "client_id")?;
    let open_only = flag(ctx, "open_only");
    let search = ctx
        .param("search_summary")
        .map(str::to_lowercase)
        .filter(|s| !s.is_empty());
    let tickets: Vec<&HaloTicket> = world
        .halo
        .tickets
        .iter()
        .filter(|t| client_id.is_none_or(|c| t.client_id == c))
        .filter(|t| !open_only || !world.halo.desk.is_closed(t.status_id))
        .filter(|t| {
            search
                .as_deref()
                .is_none_or(|s| t.summary.to_lowercase().contains(s))
        })
        .collect();
    envelope(ctx, "tickets", tickets, |t| ticket_json(world, t, false))
}

/// A required id property that must name one of `known`.
fn known_id(item: &Item<'_>, key: &str, known: &[i64]) -> Result<i64, Reject> {
    let id = item
        .int(key)?
        .ok_or_else(|| item.err(format!("{key} is required")))?;
    if known.contains(&id) {
        Ok(id)
    } else {
        Err(item.err(format!("{key} {id} does not exist")))
    }
}

/// `POST /api/Tickets`: creates (no `id`) need `summary`, `client_id` and `tickettype_id`;
/// updates change what they send. Validated as a whole, then committed.
fn write_tickets(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let (items, single) = write_items(ctx)?;
    let types: Vec<i64> = world.halo.desk.ticket_types.iter().map(|t| t.0).collect();
    let statuses: Vec<i64> = world.halo.desk.statuses.iter().map(|s| s.0).collect();
    let mut planned = Vec::with_capacity(items.len());
    for (index, map) in items.iter().enumerate() {
        let item = Item { index, map };
        let mut ticket = match item.id()? {
            Some(id) => world
                .halo
                .tickets
                .iter()
                .find(|t| t.id == id)
                .cloned()
                .ok_or_else(|| item.err(format!("id {id} does not exist")))?,
            None => {
                let client_id = item
                    .int("client_id")?
                    .ok_or_else(|| item.err("client_id is required".into()))?;
                let client = world
                    .client(client_id)
                    .ok_or_else(|| item.err(format!("client_id {client_id} does not exist")))?;
                HaloTicket {
                    id: 0,
                    summary: String::new(),
                    details: String::new(),
                    client_id,
                    site_id: client.main_site_id,
                    tickettype_id: known_id(&item, "tickettype_id", &types)?,
                    status_id: super::world::STATUS_NEW,
                    team: None,
                    agent_id: None,
                    third_party_id_string: None,
                    actions: Vec::new(),
                }
            }
        };
        if let Some(summary) = item.string("summary")? {
            ticket.summary = summary.unwrap_or_default();
        }
        if ticket.summary.trim().is_empty() {
            return Err(item.err("summary is required".into()));
        }
        if let Some(details) = item.string("details")? {
            ticket.details = details.unwrap_or_default();
        }
        if map.contains_key("status_id") {
            ticket.status_id = known_id(&item, "status_id", &statuses)?;
        }
        if let Some(team) = item.string("team")? {
            ticket.team = team;
        }
        if map.contains_key("agent_id") {
            ticket.agent_id = item.int("agent_id")?;
        }
        if let Some(key) = item.string("third_party_id_string")? {
            ticket.third_party_id_string = key;
        }
        planned.push(ticket);
    }
    let mut saved = Vec::with_capacity(planned.len());
    for ticket in planned {
        let ticket = commit(world, |h| &mut h.tickets, |t| &mut t.id, ticket);
        saved.push(ticket_json(world, &ticket, true));
    }
    Ok(write_response(saved, single))
}

/// `POST /api/Actions`: a note on a ticket; `outcome_id` is required (Halo rejects a note
/// without an outcome); `new_status` changes the ticket's status.
fn write_actions(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let (items, single) = write_items(ctx)?;
    let outcomes: Vec<i64> = world.halo.desk.outcomes.iter().map(|o| o.0).collect();
    let statuses: Vec<i64> = world.halo.desk.statuses.iter().map(|s| s.0).collect();
    let mut planned = Vec::with_capacity(items.len());
    for (index, map) in items.iter().enumerate() {
        let item = Item { index, map };
        let ticket_id = item
            .int("ticket_id")?
            .ok_or_else(|| item.err("ticket_id is required".into()))?;
        if !world.halo.tickets.iter().any(|t| t.id == ticket_id) {
            return Err(item.err(format!("ticket_id {ticket_id} does not exist")));
        }
        let outcome_id = known_id(&item, "outcome_id", &outcomes)?;
        let new_status = match map.contains_key("new_status") {
            true => Some(known_id(&item, "new_status", &statuses)?),
            false => None,
        };
        let action = HaloAction {
            id: 0,
            outcome_id,
            note: item.string("note")?.flatten().unwrap_or_default(),
            hiddenfromuser: item.bool("hiddenfromuser")?.unwrap_or(false),
            new_status,
        };
        planned.push((ticket_id, action));
    }
    let mut saved = Vec::with_capacity(planned.len());
    for (ticket_id, mut action) in planned {
        action.id = world.next_halo_id();
        if let Some(ticket) = world.halo.tickets.iter_mut().find(|t| t.id == ticket_id) {
            if let Some(status) = action.new_status {
                ticket.status_id = status;
            }
            ticket.actions.push(action.clone());
        }
        let mut json = Map::new();
        json.insert("id".into(), id_value(action.id, true));
        json.insert("ticket_id".into(), id_value(ticket_id, true));
        json.insert("outcome_id".into(), id_value(action.outcome_id, true));
        json.insert("note".into(), json!(action.note));
        json.insert("hiddenfromuser".into(), json!(action.hiddenfromuser));
        saved.push(Value::Object(json));
    }
    Ok(write_response(saved, single))
}
