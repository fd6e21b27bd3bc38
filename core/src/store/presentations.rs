//! Single-use presentation credentials: slots created with their device key, filled when the
//! issuer answers, marked when shown. The credential is sealed like documents (AAD binds table,
//! column and alias).

use super::seal::Place;
use super::{Result, Store, now_ms};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

const TABLE: &str = "presentations";

/// One slot: a device key alias, and the credential once issued.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentationSlot {
    pub alias: String,
    pub profile: String,
    pub credential: Option<Vec<u8>>,
    pub used_at_ms: Option<i64>,
}

impl std::fmt::Debug for PresentationSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentationSlot")
            .field("profile", &self.profile)
            .field("issued", &self.credential.is_some())
            .field("used", &self.used_at_ms.is_some())
            .finish_non_exhaustive()
    }
}

fn place<'a>(row: &'a [&'a [u8]]) -> Place<'a> {
    Place {
        table: TABLE,
        column: "credential",
        row,
    }
}

impl Store {
    /// New empty slots of `profile`, one per alias.
    pub(crate) fn add_presentation_slots(&self, profile: &str, aliases: &[String]) -> Result<()> {
        let now = now_ms();
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO presentations (alias, profile, created_at) VALUES (?1, ?2, ?3)",
            )?;
            for a in aliases {
                insert.execute(params![a, profile, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Fills slots with their credentials, all or none.
    pub(crate) fn fill_presentation_slots(&self, items: &[(String, Vec<u8>)]) -> Result<()> {
        let sealed = items
            .iter()
            .map(|(alias, cred)| {
                let row: [&[u8]; 1] = [alias.as_bytes()];
                Ok((alias, self.sealer()?.seal(&place(&row), cred)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut update =
                tx.prepare_cached("UPDATE presentations SET credential = ?2 WHERE alias = ?1")?;
            for (alias, body) in &sealed {
                update.execute(params![alias, body])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every slot of `profile`, oldest first, credentials decrypted.
    pub(crate) fn presentation_slots(&self, profile: &str) -> Result<Vec<PresentationSlot>> {
        let rows = {
            let conn = self.reader()?;
            let mut stmt = conn.prepare_cached(
                "SELECT alias, credential, used_at FROM presentations WHERE profile = ?1
                 ORDER BY created_at, alias",
            )?;
            stmt.query_map([profile], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        rows.into_iter()
            .map(|(alias, sealed, used_at_ms)| {
                let credential = match sealed {
                    Some(s) => {
                        let row: [&[u8]; 1] = [alias.as_bytes()];
                        Some(self.sealer()?.open(&place(&row), &s)?)
                    }
                    None => None,
                };
                Ok(PresentationSlot {
                    alias,
                    profile: profile.to_owned(),
                    credential,
                    used_at_ms,
                })
            })
            .collect()
    }

    /// Marks a slot shown at `at_ms`; false if there is no such slot.
    pub(crate) fn mark_presentation_used(&self, alias: &str, at_ms: i64) -> Result<bool> {
        let conn = self.writer()?;
        let n = conn
            .prepare_cached("UPDATE presentations SET used_at = ?2 WHERE alias = ?1")?
            .execute(params![alias, at_ms])?;
        Ok(n == 1)
    }

    pub(crate) fn delete_presentation_slots(&self, aliases: &[String]) -> Result<()> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM presentations WHERE alias = ?1")?;
            for a in aliases {
                delete.execute([a])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every profile with a slot (QR profiles, `profile~dependant`, `<format>:<type>`).
    pub(crate) fn presentation_profiles(&self) -> Result<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt =
            conn.prepare_cached("SELECT DISTINCT profile FROM presentations ORDER BY profile")?;
        Ok(stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// How many issued, unused credentials `profile` has.
    pub(crate) fn unused_presentations(&self, profile: &str) -> Result<u64> {
        let conn = self.reader()?;
        let n: Option<i64> = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM presentations
                 WHERE profile = ?1 AND credential IS NOT NULL AND used_at IS NULL",
            )?
            .query_row([profile], |r| r.get(0))
            .optional()?;
        Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }
}
