//! The SyncToken memo: the last optimistic-concurrency token QuickBooks gave for each invoice,
//! so an update right after a read costs one call instead of two.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

/// The last SyncToken seen per invoice id. The sync rules always read an invoice (by link or
/// number) just before updating it, so the token is usually fresh and the update costs one
/// call; a token another process moved on is caught by fault 5010 and refreshed.
#[derive(Debug, Default)]
pub(super) struct SyncTokens {
    tokens: Mutex<HashMap<String, String>>,
}

impl SyncTokens {
    /// Enough for every invoice in flight; beyond it the memo starts over, which only costs a
    /// read per update.
    const CAPACITY: usize = 4096;

    pub fn get(&self, id: &str) -> Option<String> {
        self.lock().get(id).cloned()
    }

    pub fn put(&self, id: &str, token: &str) {
        let mut tokens = self.lock();
        if tokens.len() >= Self::CAPACITY && !tokens.contains_key(id) {
            tokens.clear();
        }
        tokens.insert(id.to_owned(), token.to_owned());
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        // Plain strings: a panic elsewhere cannot leave the map inconsistent.
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memo_keeps_the_latest_token_and_starts_over_when_full() {
        let memo = SyncTokens::default();
        memo.put("130", "2");
        memo.put("130", "3");
        assert_eq!(memo.get("130").as_deref(), Some("3"));
        for i in 0..SyncTokens::CAPACITY {
            memo.put(&format!("id-{i}"), "0");
        }
        assert_eq!(memo.get("130"), None, "the full memo started over");
        assert_eq!(memo.get("id-4095").as_deref(), Some("0"));
    }
}
