//! OAuth 2 client-credentials access tokens, shared by the Halo and Graph clients: the
//! token response, a cache that refreshes a minute before expiry, and the "refresh once
//! on a 401" rule.

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::Secret;

/// Refresh this long before the token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A token endpoint's successful answer.
#[derive(Deserialize)]
pub struct TokenResponse {
    access_token: String,
    /// Seconds; some servers send a float or a string.
    #[serde(default, deserialize_with = "crate::halo::model::lenient_f64")]
    expires_in: Option<f64>,
}

impl TokenResponse {
    pub fn into_token(self) -> AccessToken {
        let lifetime =
            Duration::from_secs_f64(self.expires_in.unwrap_or(3600.0).clamp(0.0, 86_400.0));
        AccessToken {
            value: Secret::new(self.access_token),
            refresh_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN),
        }
    }
}

#[derive(Clone)]
pub struct AccessToken {
    pub value: Secret,
    refresh_at: Instant,
}

/// One cached token.
#[derive(Default)]
pub struct TokenCache {
    slot: Mutex<Option<AccessToken>>,
}

impl TokenCache {
    /// The cached token, or a new one from `fetch` when there is none or it is about to
    /// expire. Concurrent callers wait for one fetch.
    pub async fn get<E, F>(&self, fetch: F) -> Result<Secret, E>
    where
        F: AsyncFnOnce() -> Result<AccessToken, E>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.value.clone());
        }
        let token = fetch().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// Forgets `rejected` (the server answered 401 to it), unless another caller already
    /// replaced it.
    pub async fn invalidate(&self, rejected: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| &t.value == rejected) {
            *slot = None;
        }
    }
}
