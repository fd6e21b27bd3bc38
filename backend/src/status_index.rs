//! Status list entries drawn at random (issue 12, finding 5; docs/adr/0020).
//!
//! A counter gave the credentials of one batch consecutive indexes, so a verifier could link a
//! citizen's presentations by their neighbouring status entries. Each entry is now drawn
//! uniformly from `[0, range)` among the free ones: a draw that hits a taken index is drawn again,
//! so every free index is equally likely. The `status_indexes` primary key is what makes an
//! index taken, across documents, tombstones and presentation credentials, and across backend
//! instances sharing one database (a concurrent insert of the same index waits for the other
//! transaction and then inserts nothing, and we draw again).
//!
//! The range is a power of two, at least [`MIN_RANGE`] and at least four times the entries ever
//! allocated (the `status_index` counter), so at most a quarter of it is taken and a draw
//! succeeds first time three times out of four. It only grows, by doubling, as issuance grows;
//! the status list reaches about the end of the range, so its length tells nothing about one
//! citizen.

use crate::db::next_counter;
use crate::error::Error;
use crate::http::random_bytes;

/// The smallest range: the status list's minimum length (herd privacy).
pub const MIN_RANGE: u64 = crate::lists::MIN_ENTRIES as u64;
/// Draws before giving up; with at most a quarter taken, 64 misses in a row have odds 2^-128.
const MAX_DRAWS: usize = 64;

/// The range to draw from once `allocated` entries exist (this one included).
pub fn range_for(allocated: u64) -> Result<u64, Error> {
    let range = allocated
        .checked_mul(4)
        .and_then(u64::checked_next_power_of_two)
        .ok_or_else(full)?
        .max(MIN_RANGE);
    if range > 1 << 32 {
        return Err(full());
    }
    Ok(range)
}

fn full() -> Error {
    Error::Registry("status list full".into())
}

/// A uniform draw from `[0, range)`; `range` is a power of two at most 2^32.
fn draw(range: u64) -> Result<u64, Error> {
    let bytes: [u8; 8] = random_bytes(8)?.try_into().map_err(|_| Error::Random)?;
    Ok(u64::from_le_bytes(bytes) & (range - 1))
}

/// Takes a free status list index, at random, inside `tx`.
pub async fn allocate(tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<u32, Error> {
    let allocated = u64::try_from(next_counter(tx, "status_index").await?).map_err(|_| full())?;
    let range = range_for(allocated)?;
    for _ in 0..MAX_DRAWS {
        let index = draw(range)?;
        let taken =
            sqlx::query("INSERT INTO status_indexes (idx) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(i64::try_from(index).map_err(|_| full())?)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        if taken == 1 {
            return u32::try_from(index).map_err(|_| full());
        }
    }
    Err(full())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_keeps_three_quarters_free_and_stays_in_u32() {
        assert_eq!(range_for(1).unwrap(), MIN_RANGE);
        assert_eq!(range_for(MIN_RANGE / 4).unwrap(), MIN_RANGE);
        assert_eq!(range_for(MIN_RANGE / 4 + 1).unwrap(), MIN_RANGE * 2);
        for n in [1u64, 1000, 40_000, 1 << 20, 1 << 30] {
            let r = range_for(n).unwrap();
            assert!(r.is_power_of_two() && r >= 4 * n, "{n}: {r}");
        }
        assert!(range_for((1 << 30) + 1).is_err());
        assert!(range_for(u64::MAX).is_err());
    }

    /// Takes `indexes` and sets the allocation counter to `allocated`.
    async fn prefill(store: &crate::db::Store, indexes: std::ops::Range<i64>, allocated: i64) {
        let mut w = store.write().await.unwrap();
        for i in indexes {
            sqlx::query("INSERT INTO status_indexes (idx) VALUES ($1)")
                .bind(i)
                .execute(&mut *w.tx)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'status_index'")
            .bind(allocated)
            .execute(&mut *w.tx)
            .await
            .unwrap();
        w.commit().await.unwrap();
    }

    /// A draw that hits a taken index draws again: with a quarter of the range taken, 400
    /// allocations meet about 130 taken indexes and never return one, nor one twice. A range
    /// with no free index is refused after the bounded draws, not looped on.
    #[tokio::test]
    async fn taken_indexes_are_drawn_again_and_a_full_range_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = crate::db::Store::open(&url).await.unwrap();
        let quarter = i64::try_from(MIN_RANGE / 4).unwrap();
        prefill(&store, 0..quarter, quarter - 400).await;
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..400 {
            let mut w = store.write().await.unwrap();
            let i = allocate(&mut w.tx).await.unwrap();
            w.commit().await.unwrap();
            assert!(i64::from(i) >= quarter, "{i} was taken");
            assert!(u64::from(i) < MIN_RANGE);
            assert!(seen.insert(i), "{i} given twice");
        }
        store.close().await;

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("full.db").display());
        let store = crate::db::Store::open(&url).await.unwrap();
        prefill(&store, 0..i64::try_from(MIN_RANGE).unwrap(), 0).await;
        let mut w = store.write().await.unwrap();
        assert!(matches!(allocate(&mut w.tx).await, Err(Error::Registry(_))));
        drop(w);
        store.close().await;
    }

    #[test]
    fn draws_cover_the_range_evenly() {
        let range = 16;
        let mut seen = [0u32; 16];
        for _ in 0..16_000 {
            seen[usize::try_from(draw(range).unwrap()).unwrap()] += 1;
        }
        // Each value 1000 times on average; 4 standard deviations is about 125.
        assert!(seen.iter().all(|n| (850..=1150).contains(n)), "{seen:?}");
    }
}
