use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::db::{ConnectionInitializer, open_writer, user_version};
use super::schema::SchemaV1;
use super::*;

fn key(b: u8) -> SecretKey {
    SecretKey::new(vec![b; 32])
}

fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    let store = Store::open(&path, key(7)).unwrap();
    (dir, path, store)
}

fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

fn is_unseal(r: Result<impl std::fmt::Debug>, table: &str, column: &str) -> bool {
    matches!(r, Err(StoreError::Unseal { table: t, column: c }) if t == table && c == column)
}

#[test]
fn round_trips_documents_log_and_meta() {
    let (_dir, _path, store) = temp_store();
    assert_eq!(store.document("a").unwrap(), None);
    assert!(store.list_summaries().unwrap().is_empty());

    store
        .put_document("b", "cccd", b"sum b", b"body b")
        .unwrap();
    store
        .put_documents(&[
            NewDocument {
                id: "a",
                kind: "bhyt",
                summary: b"sum a",
                body: b"body a",
            },
            NewDocument {
                id: "c",
                kind: "gplx",
                summary: b"",
                body: &[0u8; 10_000],
            },
        ])
        .unwrap();
    let b = store.document("b").unwrap().unwrap();
    assert_eq!(
        (b.kind.as_str(), &b.summary[..], &b.body[..]),
        ("cccd", &b"sum b"[..], &b"body b"[..])
    );
    assert_eq!(
        store.document("c").unwrap().unwrap().body,
        vec![0u8; 10_000]
    );
    let list = store.list_summaries().unwrap();
    let ids: Vec<_> = list.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(list[0].summary, b"sum a");
    assert_eq!(list[0].kind, "bhyt");

    // Replace, including a kind change.
    store
        .put_document("b", "vneid", b"sum b2", b"body b2")
        .unwrap();
    let b = store.document("b").unwrap().unwrap();
    assert_eq!((b.kind.as_str(), &b.body[..]), ("vneid", &b"body b2"[..]));
    assert!(store.delete_document("b").unwrap());
    assert!(!store.delete_document("b").unwrap());
    assert_eq!(store.document("b").unwrap(), None);
    assert_eq!(store.list_summaries().unwrap().len(), 2);

    assert_eq!(store.append_log(1_000, b"first").unwrap(), 1);
    assert_eq!(store.append_log(2_000, b"second").unwrap(), 2);
    let log = store.log().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[1].seq, log[1].at_ms, &log[1].record[..]),
        (2, 2_000, &b"second"[..])
    );

    assert_eq!(store.meta_get("attempts").unwrap(), None);
    store.meta_put("attempts", b"1").unwrap();
    store.meta_put("attempts", b"2").unwrap();
    assert_eq!(store.meta_get("attempts").unwrap(), Some(b"2".to_vec()));
    store.meta_delete("attempts").unwrap();
    assert_eq!(store.meta_get("attempts").unwrap(), None);

    assert!(matches!(
        store.meta_put("store.key_check", b"x"),
        Err(StoreError::ReservedMetaKey)
    ));
    assert!(matches!(
        store.meta_delete("store.key_check"),
        Err(StoreError::ReservedMetaKey)
    ));

    // Debug shows lengths, never byte contents.
    let text = format!("{b:?} {:?} {:?} {store:?}", list[0], log[0]);
    assert!(!text.contains('['), "{text}");
    assert!(text.contains("body_len: 7"), "{text}");
}

#[test]
fn store_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
}

#[test]
fn reopens_with_the_same_key_and_refuses_another() {
    let (dir, path, store) = temp_store();
    store.put_document("a", "cccd", b"s", b"b").unwrap();
    drop(store);
    let store = Store::open(&path, key(7)).unwrap();
    assert_eq!(store.document("a").unwrap().unwrap().body, b"b");
    drop(store);
    assert!(matches!(
        Store::open(&path, key(8)),
        Err(StoreError::WrongDataKey)
    ));
    assert!(matches!(
        Store::open(&path, SecretKey::new(vec![7; 16])),
        Err(StoreError::DataKeyLength)
    ));
    drop(dir);
}

#[test]
fn altered_or_moved_values_are_refused() {
    let (_dir, path, store) = temp_store();
    store
        .put_document("a", "cccd", b"sum a", b"body a")
        .unwrap();
    store
        .put_document("b", "cccd", b"sum b", b"body b")
        .unwrap();
    store.append_log(10, b"one").unwrap();
    store.append_log(20, b"two").unwrap();
    let conn = raw(&path);

    // b's summary copied into a: a valid ciphertext in the wrong row.
    conn.execute(
        "UPDATE documents SET summary = (SELECT summary FROM documents WHERE id = 'b') WHERE id = 'a'",
        [],
    )
    .unwrap();
    assert!(is_unseal(store.document("a"), "documents", "summary"));
    assert!(is_unseal(store.list_summaries(), "documents", "summary"));
    assert_eq!(store.document("b").unwrap().unwrap().body, b"body b");

    // A body swapped into the summary column of its own row.
    conn.execute("UPDATE documents SET summary = body WHERE id = 'b'", [])
        .unwrap();
    assert!(is_unseal(store.document("b"), "documents", "summary"));

    // One flipped bit, and an edited plaintext kind.
    store
        .put_document("c", "cccd", b"sum c", b"body c")
        .unwrap();
    // (Flipped, not set: a byte set to 0 that was already 0 changed nothing, 1 run in 256.)
    let mut body: Vec<u8> = conn
        .query_row("SELECT body FROM documents WHERE id = 'c'", [], |r| {
            r.get(0)
        })
        .unwrap();
    body[20] ^= 0x01;
    conn.execute(
        "UPDATE documents SET body = ?1 WHERE id = 'c'",
        params![body],
    )
    .unwrap();
    assert!(is_unseal(store.document("c"), "documents", "body"));
    store
        .put_document("d", "cccd", b"sum d", b"body d")
        .unwrap();
    conn.execute("UPDATE documents SET kind = 'bhyt' WHERE id = 'd'", [])
        .unwrap();
    assert!(is_unseal(store.document("d"), "documents", "summary"));
    // A row renamed to another id.
    store
        .put_document("e", "cccd", b"sum e", b"body e")
        .unwrap();
    conn.execute("UPDATE documents SET id = 'f' WHERE id = 'e'", [])
        .unwrap();
    assert!(is_unseal(store.document("f"), "documents", "summary"));

    // Log: swapped records, then an edited time.
    conn.execute(
        "UPDATE log SET record = (SELECT record FROM log WHERE seq = 2) WHERE seq = 1",
        [],
    )
    .unwrap();
    assert!(is_unseal(store.log(), "log", "record"));
    conn.execute("DELETE FROM log WHERE seq = 1", []).unwrap();
    assert_eq!(store.log().unwrap().len(), 1);
    conn.execute("UPDATE log SET at = 21 WHERE seq = 2", [])
        .unwrap();
    assert!(is_unseal(store.log(), "log", "record"));
}

fn normalised_schema(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name",
        )
        .unwrap();
    stmt.query_map([], |r| {
        let sql: String = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            sql.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

#[test]
fn upgraded_schema_equals_fresh_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        // A v1 database as the first release wrote it, with a sealed document and meta.
        let conn = open_writer(&old, &SchemaV1).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        let sealer = Sealer::new(&key(7)).unwrap();
        let row: [&[u8]; 2] = [b"doc-1", b"cccd"];
        conn.execute(
            "INSERT INTO documents (id, kind, summary, body, updated_at) VALUES (?1, ?2, ?3, ?4, 5)",
            params![
                "doc-1",
                "cccd",
                sealer
                    .seal(&document_place("summary", &row), b"old summary")
                    .unwrap(),
                sealer
                    .seal(&document_place("body", &row), b"old body")
                    .unwrap()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('account', x'01')",
            [],
        )
        .unwrap();
        assert!(
            normalised_schema(&conn)
                .iter()
                .all(|(_, name, _)| name != "log")
        );
    }
    let upgraded = Store::open(&old, key(7)).unwrap();
    let fresh_path = dir.path().join("fresh.db");
    let fresh = Store::open(&fresh_path, key(7)).unwrap();

    let (up_conn, fresh_conn) = (raw(&old), raw(&fresh_path));
    assert_eq!(user_version(&up_conn).unwrap(), StoreSchema::END_VERSION);
    assert_eq!(user_version(&fresh_conn).unwrap(), StoreSchema::END_VERSION);
    let schema = normalised_schema(&fresh_conn);
    assert!(schema.iter().any(|(_, name, _)| name == "log"));
    assert_eq!(normalised_schema(&up_conn), schema);

    let doc = upgraded.document("doc-1").unwrap().unwrap();
    assert_eq!(
        (&doc.summary[..], &doc.body[..]),
        (&b"old summary"[..], &b"old body"[..])
    );
    assert_eq!(upgraded.meta_get("account").unwrap(), Some(vec![1]));
    assert_eq!(upgraded.append_log(1, b"after upgrade").unwrap(), 1);
    drop(fresh);
}

#[test]
fn a_newer_schema_is_refused() {
    let (_dir, path, store) = temp_store();
    drop(store);
    raw(&path).pragma_update(None, "user_version", 99).unwrap();
    assert!(matches!(
        Store::open(&path, key(7)),
        Err(StoreError::SchemaTooNew {
            found: 99,
            supported: 4,
            ..
        })
    ));
}

#[test]
fn reads_proceed_while_a_write_is_open_and_while_writing() {
    let (_dir, path, store) = temp_store();
    store.put_document("a", "cccd", b"sum", b"body").unwrap();

    // Another connection holds the write lock with an uncommitted row: reads still answer, from
    // the last committed state (WAL).
    let mut other = raw(&path);
    let tx = other
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("DELETE FROM documents", []).unwrap();
    let started = Instant::now();
    assert_eq!(store.list_summaries().unwrap().len(), 1);
    assert!(store.document("a").unwrap().is_some());
    assert!(started.elapsed() < Duration::from_secs(1));
    tx.rollback().unwrap();

    let store = Arc::new(store);
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for i in 0..200 {
                let id = format!("doc-{i:04}");
                store
                    .put_document(&id, "cccd", id.as_bytes(), &[i as u8; 512])
                    .unwrap();
            }
        })
    };
    let mut last = 0;
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let list = store.list_summaries().unwrap();
        assert!(list.len() >= last, "committed rows never disappear");
        last = list.len();
        for s in list.iter().filter(|s| s.id != "a") {
            assert_eq!(s.summary, s.id.as_bytes());
        }
        reads += 1;
    }
    writer.join().unwrap();
    assert_eq!(store.list_summaries().unwrap().len(), 201);
    assert!(reads > 1, "the reader ran alongside the writer");
}

const MARKER: &str = "NGUYEN-VAN-MARKER-079203001234";

fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[test]
fn no_plaintext_personal_data_on_disk() {
    let (dir, path, store) = temp_store();
    for i in 0..50 {
        let summary = format!("{MARKER} summary {i}");
        let body = format!("{MARKER} body {i} ").repeat(40);
        store
            .put_document(
                &format!("doc-{i}"),
                "cccd",
                summary.as_bytes(),
                body.as_bytes(),
            )
            .unwrap();
        store
            .append_log(i, format!("{MARKER} presented {i}").as_bytes())
            .unwrap();
    }
    // Without a checkpoint: the pages are only in the WAL.
    let wal = dir.path().join("wallet.db-wal");
    assert!(fs::metadata(&wal).unwrap().len() > 0);
    assert!(dir.path().join("wallet.db-shm").exists());
    assert_eq!(
        files_containing(dir.path(), MARKER.as_bytes()),
        Vec::<String>::new()
    );
    // With a checkpoint: the pages are in the main file.
    checkpoint(&store.writer().unwrap()).unwrap();
    assert!(fs::metadata(&path).unwrap().len() > 50 * 1_000);
    assert_eq!(
        files_containing(dir.path(), MARKER.as_bytes()),
        Vec::<String>::new()
    );
    // And after closing (SQLite's own final checkpoint).
    drop(store);
    assert_eq!(
        files_containing(dir.path(), MARKER.as_bytes()),
        Vec::<String>::new()
    );
}

#[test]
fn wipe_leaves_no_old_page_behind() {
    let (dir, path, store) = temp_store();
    for i in 0..30 {
        store
            .put_document(&format!("doc-{i}"), "cccd", b"summary", &[i as u8; 2_000])
            .unwrap();
    }
    store.append_log(1, b"record").unwrap();
    store.meta_put("account", b"active").unwrap();
    checkpoint(&store.writer().unwrap()).unwrap();
    // Some sealed bytes as they sit on disk now.
    let sealed: Vec<Vec<u8>> = raw(&path)
        .prepare("SELECT body FROM documents")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(sealed.len(), 30);
    let probe = |s: &Vec<u8>| s[13..45].to_vec();
    assert!(!files_containing(dir.path(), &probe(&sealed[0])).is_empty());

    store.wipe().unwrap();
    assert!(store.list_summaries().unwrap().is_empty());
    assert!(store.log().unwrap().is_empty());
    assert_eq!(store.meta_get("account").unwrap(), None);
    assert_eq!(
        fs::metadata(dir.path().join("wallet.db-wal"))
            .unwrap()
            .len(),
        0
    );
    for s in &sealed {
        assert_eq!(
            files_containing(dir.path(), &probe(s)),
            Vec::<String>::new()
        );
    }
    for needle in [&b"account"[..], b"doc-1"] {
        assert_eq!(files_containing(dir.path(), needle), Vec::<String>::new());
    }

    // Still usable, still bound to the same key.
    store.put_document("new", "cccd", b"s", b"b").unwrap();
    drop(store);
    let store = Store::open(&path, key(7)).unwrap();
    assert_eq!(store.list_summaries().unwrap().len(), 1);
    drop(store);
    assert!(matches!(
        Store::open(&path, key(8)),
        Err(StoreError::WrongDataKey)
    ));
}

// ---- crash safety: a child process killed with SIGKILL in the middle of its writes ----

const CRASH_CHILD_ENV: &str = "EID_STORE_CRASH_CHILD_DIR";
const CRASH_DOCS: usize = 1_000;
const KILL_AFTER: usize = 150;

fn crash_summary(i: usize) -> Vec<u8> {
    format!("summary {i:04} ").repeat(20).into_bytes()
}

fn crash_body(i: usize) -> Vec<u8> {
    (0..3_000).map(|j| ((i * 31 + j) % 251) as u8).collect()
}

/// The child's role: write documents one transaction each, reporting each commit on its own line.
fn crash_child(dir: &Path) {
    let store = Store::open(&dir.join("wallet.db"), key(7)).unwrap();
    let mut progress = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("progress"))
        .unwrap();
    for i in 0..CRASH_DOCS {
        store
            .put_document(
                &format!("doc-{i:04}"),
                "cccd",
                &crash_summary(i),
                &crash_body(i),
            )
            .unwrap();
        // Unbuffered write: the line reaches the kernel before the next document starts.
        progress.write_all(format!("{i}\n").as_bytes()).unwrap();
    }
}

/// Indices on complete lines only: the kill may cut the last line.
fn reported(dir: &Path) -> BTreeSet<usize> {
    let text = fs::read_to_string(dir.join("progress")).unwrap_or_default();
    let complete = text.rsplit_once('\n').map_or("", |(done, _)| done);
    complete.lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn crash_mid_write_loses_no_committed_document() {
    if let Some(dir) = std::env::var_os(CRASH_CHILD_ENV) {
        crash_child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The harness names tests by module path without the crate name.
    let module = module_path!().split_once("::").unwrap().1;
    let name = format!("{module}::crash_mid_write_loses_no_committed_document");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--test-threads=1"])
        .env(CRASH_CHILD_ENV, dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while reported(dir.path()).len() < KILL_AFTER && Instant::now() < deadline {
        assert!(child.try_wait().unwrap().is_none(), "child ended early");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no SQLite close
    child.wait().unwrap();

    let committed = reported(dir.path());
    assert!(committed.len() >= KILL_AFTER, "child made no progress");
    assert!(
        committed.len() < CRASH_DOCS,
        "the child finished before the kill"
    );
    // Reported lines are consecutive from 0.
    assert_eq!(
        committed.iter().copied().collect::<Vec<_>>(),
        (0..committed.len()).collect::<Vec<_>>()
    );

    let store = Store::open(&dir.path().join("wallet.db"), key(7)).unwrap();
    for &i in &committed {
        let doc = store.document(&format!("doc-{i:04}")).unwrap().unwrap();
        assert_eq!(doc.summary, crash_summary(i));
        assert_eq!(doc.body, crash_body(i));
    }
    // Every row present opens: nothing half-written. At most one commit beyond the last report
    // (killed between commit and report).
    let all = store.list_summaries().unwrap();
    assert!(all.len() == committed.len() || all.len() == committed.len() + 1);
    for s in &all {
        let i: usize = s.id["doc-".len()..].parse().unwrap();
        let doc = store.document(&s.id).unwrap().unwrap();
        assert_eq!(doc.body, crash_body(i));
    }
}

/// Document history (docs/adr/0056): written with the sync's documents, sealed (no plaintext
/// value in the file), bound to its row (a record moved to another seq does not open), read back
/// in order and removed by a wipe.
#[test]
fn history_is_sealed_with_the_sync_and_bound_to_its_row() {
    let (_dir, path, store) = temp_store();
    let doc = NewDocument {
        id: "n",
        kind: "gplx",
        summary: b"s",
        body: b"b",
    };
    store
        .apply_sync(
            &[doc],
            &[],
            &[],
            &[(5, b"points 12 -> 9".as_slice()), (6, b"second".as_slice())],
        )
        .unwrap();
    let h = store.history().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[0].seq, h[0].at_ms, &h[0].record[..]),
        (1, 5, &b"points 12 -> 9"[..])
    );
    assert_eq!(h[1].record, b"second");
    assert!(store.document("n").unwrap().is_some());
    drop(store);
    for file in [path.clone(), path.with_extension("db-wal")] {
        let bytes = fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(6).any(|w| w == b"points"),
            "{}",
            file.display()
        );
    }
    let store = Store::open(&path, key(7)).unwrap();
    // Swap the two records: each is sealed for its own row.
    let conn = raw(&path);
    conn.execute_batch(
        "UPDATE history SET seq = 99 WHERE seq = 1; UPDATE history SET seq = 1 WHERE seq = 2; \
         UPDATE history SET seq = 2 WHERE seq = 99;",
    )
    .unwrap();
    assert!(is_unseal(store.history(), "history", "record"));
    store.wipe().unwrap();
    assert!(store.history().unwrap().is_empty());
}
