//! Access tokens for the target APIs: a static token from the config, or (next) OAuth2 tokens
//! refreshed before expiry and persisted in the store.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::connectors::ApplyError;

/// Hands out the bearer token for one connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct TokenHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
enum Inner {
    Static(SecretString),
}

impl TokenHandle {
    pub fn fixed(token: SecretString) -> Self {
        TokenHandle {
            inner: Arc::new(Inner::Static(token)),
        }
    }

    /// The current access token, for an `Authorization: Bearer` header.
    pub async fn bearer(&self) -> Result<String, ApplyError> {
        match self.inner.as_ref() {
            Inner::Static(token) => Ok(token.expose_secret().to_owned()),
        }
    }

    /// Called after a 401: the next `bearer` must not return the same token.
    pub fn invalidate(&self) {
        match self.inner.as_ref() {
            // A static token cannot be renewed; the 401 is retried as a transient failure.
            Inner::Static(_) => {}
        }
    }
}
