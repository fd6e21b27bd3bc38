//! In-memory read caches of the request hot path (device keys and account state, encoded
//! document pages), invalidated by the writes of this process. See docs/adr/0010.
//!
//! A reader that misses notes the cache's generation *before* it reads the database and stores
//! what it read only if no invalidation happened since: a write that commits while the reader
//! is between its read and its store bumps the generation, so a value read before that commit
//! is never stored after the invalidation that should have removed it. Writers invalidate after
//! their commit (invalidating before it would let a reader cache the pre-commit state).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

/// Entries kept before the cache starts afresh (a crude bound; entries are small).
const MAX_ENTRIES: usize = 100_000;

/// The generation a miss read under; pass it back to [`Cache::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

#[derive(Debug)]
struct Inner<K, V> {
    generation: u64,
    entries: HashMap<K, Arc<V>>,
}

#[derive(Debug)]
pub struct Cache<K, V> {
    inner: RwLock<Inner<K, V>>,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache {
            inner: RwLock::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }
}

impl<K: Eq + Hash, V> Cache<K, V> {
    /// The entry of `key`, and the generation to read the database under on a miss.
    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> (Option<Arc<V>>, Generation)
    where
        K: Borrow<Q>,
    {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        (
            inner.entries.get(key).cloned(),
            Generation(inner.generation),
        )
    }

    /// Stores `value` read under `generation`, unless an invalidation happened since.
    pub fn insert(&self, key: K, value: Arc<V>, generation: Generation) -> bool {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.generation != generation.0 {
            return false;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(key, value);
        true
    }

    /// Forgets `key` and refuses every store of a value read before now.
    pub fn invalidate<Q: Eq + Hash + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.generation += 1;
        inner.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_read_before_an_invalidation_is_not_stored() {
        let c: Cache<&str, u32> = Cache::default();
        let (None, g) = c.get(&"a") else { panic!() };
        // A write commits and invalidates while the reader is between its read and its store.
        c.invalidate(&"b");
        assert!(!c.insert("a", Arc::new(1), g));
        assert!(c.get(&"a").0.is_none());
        let (None, g) = c.get(&"a") else { panic!() };
        assert!(c.insert("a", Arc::new(2), g));
        assert_eq!(c.get(&"a").0.as_deref(), Some(&2));
        c.invalidate(&"a");
        assert!(c.get(&"a").0.is_none());
    }
}
