//! In-memory read caches of the request hot path (device keys and account state, encoded
//! document pages), invalidated by the writes of this process and, on PostgreSQL, by those of
//! the other instances on the same database (`coherence`). See docs/adr/0010 and 0027.
//!
//! A reader that misses notes the cache's generation *before* it reads the database and stores
//! what it read only if no invalidation happened since: a write that commits while the reader
//! is between its read and its store bumps the generation, so a value read before that commit
//! is never stored after the invalidation that should have removed it. Writers invalidate after
//! their commit (invalidating before it would let a reader cache the pre-commit state).
//!
//! Every cache of a process shares one [`Gate`]: while it is closed (the notifications of the
//! other instances may be missed) no cache answers or stores anything, so every request reads
//! the database. Closing and opening clear the caches (see `coherence`).

use crate::metrics::CacheCounters;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Whether the caches of a process may be used at all: open on SQLite (one process), open on
/// PostgreSQL only while the process hears the other instances' invalidations.
#[derive(Debug)]
pub struct Gate {
    open: AtomicBool,
}

impl Gate {
    pub fn new(open: bool) -> Arc<Gate> {
        Arc::new(Gate {
            open: AtomicBool::new(open),
        })
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    pub fn set(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }
}

#[derive(Debug)]
pub struct Cache<K, V> {
    inner: RwLock<Inner<K, V>>,
    gate: Arc<Gate>,
    /// Hits and misses, for `/metrics`.
    counters: CacheCounters,
}

impl<K, V> Default for Cache<K, V> {
    /// A cache of its own, always open, counted nowhere.
    fn default() -> Self {
        Cache::new(Gate::new(true), CacheCounters::default())
    }
}

impl<K, V> Cache<K, V> {
    /// An empty cache used only while `gate` is open, counting its hits and misses in
    /// `counters`.
    pub fn new(gate: Arc<Gate>, counters: CacheCounters) -> Self {
        Cache {
            inner: RwLock::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
            gate,
            counters,
        }
    }

    /// Forgets every entry and refuses every store of a value read before now.
    pub fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.generation += 1;
        inner.entries.clear();
    }
}

impl<K: Eq + Hash, V> Cache<K, V> {
    /// The entry of `key` (none while the gate is closed), and the generation to read the
    /// database under on a miss.
    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> (Option<Arc<V>>, Generation)
    where
        K: Borrow<Q>,
    {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let hit = if self.gate.is_open() {
            inner.entries.get(key).cloned()
        } else {
            None
        };
        if hit.is_some() {
            self.counters.hits.inc();
        } else {
            self.counters.misses.inc();
        }
        (hit, Generation(inner.generation))
    }

    /// Stores `value` read under `generation`, unless an invalidation happened since or the
    /// gate is closed.
    pub fn insert(&self, key: K, value: Arc<V>, generation: Generation) -> bool {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.generation != generation.0 || !self.gate.is_open() {
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

    #[test]
    fn a_closed_gate_answers_and_stores_nothing() {
        let gate = Gate::new(true);
        let c: Cache<&str, u32> = Cache::new(gate.clone(), CacheCounters::default());
        let (None, g) = c.get(&"a") else { panic!() };
        assert!(c.insert("a", Arc::new(1), g));
        // The listener is lost: closed, then cleared (`coherence`).
        gate.set(false);
        assert!(c.get(&"a").0.is_none());
        let (None, g) = c.get(&"b") else { panic!() };
        assert!(!c.insert("b", Arc::new(2), g));
        c.clear();
        // Back: cleared again, then opened; what was read while closed is not stored.
        c.clear();
        gate.set(true);
        assert!(!c.insert("b", Arc::new(2), g));
        assert!(c.get(&"a").0.is_none());
        let (None, g) = c.get(&"b") else { panic!() };
        assert!(c.insert("b", Arc::new(3), g));
        assert_eq!(c.get(&"b").0.as_deref(), Some(&3));
    }

    #[test]
    fn hits_and_misses_are_counted_and_a_closed_gate_is_a_miss() {
        let gate = Gate::new(true);
        let counters = CacheCounters::default();
        let c: Cache<&str, u32> = Cache::new(gate.clone(), counters.clone());
        let (None, g) = c.get(&"a") else { panic!() };
        assert!(c.insert("a", Arc::new(1), g));
        assert!(c.get(&"a").0.is_some());
        assert!(c.get(&"a").0.is_some());
        gate.set(false);
        assert!(c.get(&"a").0.is_none());
        assert_eq!((counters.hits.get(), counters.misses.get()), (2, 2));
    }
}
