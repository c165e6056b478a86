//! Applies a [`Plan`] to Halo in batches, for any entity: creates, updates (with
//! reactivations) and deactivations, each as array POSTs of `HALO_BATCH_SIZE`.
//!
//! The no-duplicate rule lives here: a create whose outcome is unknown (timeout, dropped
//! connection, 5xx) is never re-sent blindly — Halo is re-read by match key and only what
//! is still missing is created. A 400 is a per-record failure: the batch is split so the
//! bad record is found, logged with its key and counted, and the others still land.

use std::collections::HashSet;
use std::ops::Add;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Shutdown;
use crate::halo::{Halo, HaloError};
use crate::metrics::Metrics;
use crate::sync::{Create, Deactivate, Plan, Update};

/// Counts of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
    pub reactivated: usize,
    pub deactivated: usize,
    pub failed: usize,
}

impl Add for Applied {
    type Output = Applied;
    fn add(self, o: Applied) -> Applied {
        Applied {
            created: self.created + o.created,
            updated: self.updated + o.updated,
            reactivated: self.reactivated + o.reactivated,
            deactivated: self.deactivated + o.deactivated,
            failed: self.failed + o.failed,
        }
    }
}

/// Why applying stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Halo(#[from] HaloError),
    #[error("stopped by a shutdown signal before all batches were sent")]
    Interrupted,
}

/// Turns the fields of one write (the plan's, plus the create defaults) into the item Halo
/// is sent. `Some(id)` = an update of record `id`, `None` = a create. This is where an entity
/// whose child arrays are replaced wholesale (asset `fields`) completes them from the record
/// it read.
pub type Shape<'a> = &'a dyn Fn(Option<i64>, Map<String, Value>) -> Map<String, Value>;

/// Where a plan is written.
pub struct Target<'a> {
    pub import: &'static str,
    pub entity: &'static str,
    /// Halo entity path (`Users`, `Asset`).
    pub route: &'static str,
    /// Fields every create carries besides the plan's (`client_id`, `site_id`).
    pub create_defaults: Map<String, Value>,
    /// `None`: the plan's fields are sent as they are.
    pub shape: Option<Shape<'a>>,
    pub halo: &'a Halo,
    pub metrics: &'a Metrics,
    pub shutdown: &'a Shutdown,
    /// The keys of the records Halo rejected, collected for the tenant's report.
    pub rejected: std::sync::Mutex<Vec<String>>,
}

impl Target<'_> {
    fn count(&self, action: &str, n: usize) {
        if n > 0 {
            self.metrics
                .records
                .with_label_values(&[self.import, self.entity, action])
                .inc_by(n as f64);
        }
    }

    fn check_shutdown(&self) -> Result<(), ApplyError> {
        if self.shutdown.requested() {
            Err(ApplyError::Interrupted)
        } else {
            Ok(())
        }
    }
}

/// Applies `plan`. `reread` lists the source ids linked in Halo right now (for the
/// reconciliation of creates whose outcome is unknown). Counts go to the metrics.
pub async fn apply<R>(t: &Target<'_>, plan: &Plan, reread: R) -> Result<Applied, ApplyError>
where
    R: AsyncFn() -> Result<HashSet<String>, HaloError>,
{
    let mut applied = Applied::default();
    let size = t.halo.batch_size();

    for batch in plan.creates.chunks(size) {
        t.check_shutdown()?;
        create_batch(t, batch, &reread, &mut applied).await?;
    }
    for batch in plan.updates.chunks(size) {
        t.check_shutdown()?;
        let items: Vec<(Value, &Update)> = batch.iter().map(|u| (update_item(t, u), u)).collect();
        let failed = write_idempotent(t, &items, &mut |u: &Update| {
            if u.reactivate {
                applied.reactivated += 1;
                log(t, "reactivated", &u.label, &u.source_id, Some(u.id));
            } else {
                applied.updated += 1;
                log(t, "updated", &u.label, &u.source_id, Some(u.id));
            }
        })
        .await?;
        applied.failed += failed;
    }
    for batch in plan.deactivations.chunks(size) {
        t.check_shutdown()?;
        let items: Vec<(Value, &Deactivate)> = batch
            .iter()
            .map(|d| (serde_json::json!({"id": d.id, "inactive": true}), d))
            .collect();
        let failed = write_idempotent(t, &items, &mut |d: &Deactivate| {
            applied.deactivated += 1;
            tracing::info!(
                import = t.import,
                entity = t.entity,
                key = %d.label,
                source_id = %d.source_id,
                halo_id = d.id,
                reason = %d.reason,
                action = "deactivated",
                "record deactivated"
            );
        })
        .await?;
        applied.failed += failed;
    }
    t.count("created", applied.created);
    t.count("updated", applied.updated + applied.reactivated);
    t.count("deactivated", applied.deactivated);
    t.count("failed", applied.failed);
    Ok(applied)
}

fn log(t: &Target<'_>, action: &'static str, label: &str, source_id: &str, id: Option<i64>) {
    tracing::info!(
        import = t.import,
        entity = t.entity,
        key = %label,
        source_id = %source_id,
        halo_id = id,
        action,
        "record {action}"
    );
}

fn log_failure(t: &Target<'_>, label: &str, source_id: &str, error: &HaloError) {
    if let Ok(mut rejected) = t.rejected.lock() {
        rejected.push(label.to_string());
    }
    tracing::error!(
        import = t.import,
        entity = t.entity,
        key = %label,
        source_id = %source_id,
        action = "failed",
        error = %error,
        "record rejected by Halo; skipped"
    );
}

fn update_item(t: &Target<'_>, u: &Update) -> Value {
    let changes = u.changes.to_map();
    let mut item = match t.shape {
        Some(shape) => shape(Some(u.id), changes),
        None => changes,
    };
    item.insert("id".into(), Value::from(u.id));
    Value::Object(item)
}

fn create_item(t: &Target<'_>, c: &Create) -> Value {
    let mut item = t.create_defaults.clone();
    for (k, v) in &c.fields {
        item.insert(k.to_string(), v.clone());
    }
    Value::Object(match t.shape {
        Some(shape) => shape(None, item),
        None => item,
    })
}

/// How often a create batch whose outcome stays unknown is reconciled and re-sent before
/// the tenant is given up for this run (the next run reconciles the rest).
const MAX_RECONCILE_ROUNDS: usize = 3;

/// Creates one batch without ever creating a record twice.
async fn create_batch<R>(
    t: &Target<'_>,
    batch: &[Create],
    reread: &R,
    applied: &mut Applied,
) -> Result<(), ApplyError>
where
    R: AsyncFn() -> Result<HashSet<String>, HaloError>,
{
    let mut pending: Vec<&Create> = batch.iter().collect();
    let mut round = 0;
    loop {
        let items: Vec<Value> = pending.iter().map(|c| create_item(t, c)).collect();
        let error = match t.halo.post(t.route, &items, false).await {
            Ok(saved) => {
                let ids = saved
                    .iter()
                    .map(|r| r.get("id").and_then(Value::as_f64).map(|f| f as i64));
                let mut ids = ids.chain(std::iter::repeat(None));
                for c in &pending {
                    log(t, "created", &c.label, &c.source_id, ids.next().flatten());
                }
                applied.created += pending.len();
                return Ok(());
            }
            Err(e) => e,
        };
        let bad_request = error.status() == Some(400);
        if bad_request && pending.len() == 1 {
            log_failure(t, &pending[0].label, &pending[0].source_id, &error);
            applied.failed += 1;
            return Ok(());
        }
        if !(error.outcome_unknown() || bad_request) || round == MAX_RECONCILE_ROUNDS {
            return Err(error.into());
        }
        // Did any of it land? Ask Halo before sending anything again.
        tracing::warn!(
            import = t.import,
            entity = t.entity,
            records = pending.len(),
            error = %error,
            "create batch outcome unknown; re-reading Halo before sending it again"
        );
        let present = reread().await?;
        pending.retain(|c| {
            let landed = present.contains(&c.source_id);
            if landed {
                applied.created += 1;
                log(t, "created", &c.label, &c.source_id, None);
            }
            !landed
        });
        if pending.is_empty() {
            return Ok(());
        }
        if bad_request {
            // Find the bad record(s): one request per remaining record.
            for c in pending {
                t.check_shutdown()?;
                Box::pin(create_batch(t, std::slice::from_ref(c), reread, applied)).await?;
            }
            return Ok(());
        }
        t.check_shutdown()?;
        round += 1;
    }
}

/// Anything with a key to log a failure by.
trait Keyed {
    fn key(&self) -> (&str, &str);
}
impl Keyed for Update {
    fn key(&self) -> (&str, &str) {
        (&self.label, &self.source_id)
    }
}
impl Keyed for Deactivate {
    fn key(&self) -> (&str, &str) {
        (&self.label, &self.source_id)
    }
}

/// Sends an update-type batch (safe to repeat). On a 400 it retries record by record to
/// isolate the bad ones; returns how many records failed.
async fn write_idempotent<T: Keyed>(
    t: &Target<'_>,
    items: &[(Value, &T)],
    done: &mut impl FnMut(&T),
) -> Result<usize, ApplyError> {
    let body: Vec<Value> = items.iter().map(|(v, _)| v.clone()).collect();
    match t.halo.post(t.route, &body, true).await {
        Ok(_) => {
            items.iter().for_each(|(_, r)| done(r));
            Ok(0)
        }
        Err(e) if e.status() == Some(400) && items.len() == 1 => {
            let (label, source_id) = items[0].1.key();
            log_failure(t, label, source_id, &e);
            Ok(1)
        }
        Err(e) if e.status() == Some(400) => {
            let mut failed = 0;
            for item in items {
                t.check_shutdown()?;
                failed += Box::pin(write_idempotent(t, std::slice::from_ref(item), done)).await?;
            }
            Ok(failed)
        }
        Err(e) => Err(e.into()),
    }
}
