//! The local blob store: whole blobs or nothing, never outside its root, keys that no input can
//! turn into a path.

mod catalog_support;

use std::io::{self, Read};

use catalog::storage::{BlobKey, BlobKind, BlobLocation, BlobStore, LocalBlobStore, StorageError};
use catalog_support::{TestResult, files_under};

/// Yields some bytes, then fails, like a client that disconnects mid-upload.
struct BrokenReader {
    remaining_bytes: usize,
}

impl Read for BrokenReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.remaining_bytes == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client went away",
            ));
        }
        let count = buffer.len().min(self.remaining_bytes);
        buffer[..count].fill(1);
        self.remaining_bytes -= count;
        Ok(count)
    }
}

#[test]
fn blobs_round_trip_under_the_root_only() -> TestResult {
    let outer = tempfile::tempdir()?;
    let store = LocalBlobStore::open(outer.path().join("root"))?;
    let keys: Vec<BlobKey> = [BlobKind::Audio, BlobKind::Artwork, BlobKind::Audio]
        .into_iter()
        .map(BlobKey::generate)
        .collect();
    for (index, key) in keys.iter().enumerate() {
        let content = vec![u8::try_from(index)?; 100_000 + index];
        assert_eq!(
            store.put(key, &mut content.as_slice(), 1 << 20)?,
            u64::try_from(content.len())?
        );
        let BlobLocation::LocalFile(path) = store.locate(key)?;
        assert!(path.starts_with(store.root()), "{path:?}");
        assert_eq!(std::fs::read(&path)?, content);
        assert_eq!(BlobKey::parse(&key.to_string())?, *key);
    }
    let everything = files_under(outer.path());
    assert_eq!(everything.len(), 3);
    assert!(everything.iter().all(|path| path.starts_with(store.root())));

    store.delete(&keys[0])?;
    assert!(matches!(
        store.locate(&keys[0]),
        Err(StorageError::Missing(_))
    ));
    store.delete(&keys[0])?; // Deleting twice is fine: cleanup may be retried.
    assert_eq!(files_under(outer.path()).len(), 2);
    Ok(())
}

#[test]
fn a_failed_or_oversized_put_leaves_nothing() -> TestResult {
    let outer = tempfile::tempdir()?;
    let store = LocalBlobStore::open(outer.path())?;
    let key = BlobKey::generate(BlobKind::Audio);
    let broken = store.put(
        &key,
        &mut BrokenReader {
            remaining_bytes: 200_000,
        },
        1 << 20,
    );
    assert!(matches!(broken, Err(StorageError::Io { .. })), "{broken:?}");
    let oversized = store.put(&key, &mut [0_u8; 1001].as_slice(), 1000);
    assert!(
        matches!(
            oversized,
            Err(StorageError::TooLarge {
                bytes_max: 1000,
                ..
            })
        ),
        "{oversized:?}"
    );
    assert_eq!(
        files_under(outer.path()),
        Vec::<std::path::PathBuf>::new(),
        "no blob and no temporary file"
    );
    assert!(matches!(store.locate(&key), Err(StorageError::Missing(_))));

    assert_eq!(
        store.put(&key, &mut [0_u8; 1000].as_slice(), 1000)?,
        1000,
        "exactly the limit fits"
    );
    assert_eq!(
        store.put(&BlobKey::generate(BlobKind::Audio), &mut io::empty(), 1000)?,
        0
    );
    Ok(())
}

#[test]
fn keys_cannot_name_a_path() {
    let hostile = [
        "",
        "audio",
        "audio/",
        "../audio/0190e7a0-0000-7000-8000-000000000000",
        "audio/../../etc/passwd",
        "/etc/passwd",
        "audio//etc/passwd",
        "audio/0190e7a0-0000-7000-8000-000000000000/../x",
        "audio/0190E7A0-0000-7000-8000-000000000000",
        "audio/0190e7a000007000800000000000000",
        "audio/0190e7a0000070008000000000000000",
        "audio/{0190e7a0-0000-7000-8000-000000000000}",
        "video/0190e7a0-0000-7000-8000-000000000000",
        "audio\\0190e7a0-0000-7000-8000-000000000000",
        "audio/0190e7a0-0000-7000-8000-000000000000\0",
        "audio/.partial-0190e7a0000070008000000000000000",
    ];
    for text in hostile {
        assert!(
            matches!(BlobKey::parse(text), Err(StorageError::InvalidKey(_))),
            "{text:?}"
        );
    }
    assert!(BlobKey::parse("artwork/0190e7a0-0000-7000-8000-000000000000").is_ok());
}

/// Backdates a file's modification time, as if it had been written `age` ago.
fn backdate(path: &std::path::Path, age: std::time::Duration) -> TestResult {
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(std::time::SystemTime::now() - age)?;
    Ok(())
}

#[test]
fn a_sweep_removes_old_blobs_no_row_refers_to_and_nothing_else() -> TestResult {
    use catalog::sweep::{SWEEP_MIN_AGE_DEFAULT, SweepReport, sweep_unreferenced_blobs};
    let two_hours = std::time::Duration::from_secs(2 * 60 * 60);
    for fixture in catalog_support::fixtures()? {
        let artist = fixture.artist("Sweeper")?;
        fixture.complete_draft(&artist, "Kept", &["One", "Two"], 7)?;
        let orphan = BlobKey::generate(BlobKind::Audio);
        fixture
            .blobs
            .put(&orphan, &mut [1_u8; 500].as_slice(), 1 << 20)?;
        // A put a crash cut short, in one of the shard directories.
        let BlobLocation::LocalFile(orphan_path) = fixture.blobs.locate(&orphan)?;
        let partial = orphan_path.with_file_name(".partial-0123");
        std::fs::write(&partial, b"half")?;
        for file in fixture.stored_blobs() {
            backdate(&file, two_hours)?;
        }
        // Written just now: its rows may be about to commit, so it stays.
        let fresh = BlobKey::generate(BlobKind::Artwork);
        fixture
            .blobs
            .put(&fresh, &mut [2_u8; 500].as_slice(), 1 << 20)?;
        let referenced_before = fixture.stored_blobs().len() - 3;

        let mut connection = fixture.connection()?;
        let report =
            sweep_unreferenced_blobs(&mut connection, &fixture.blobs, SWEEP_MIN_AGE_DEFAULT)?;
        assert_eq!(
            report,
            SweepReport {
                examined: u64::try_from(referenced_before)? + 1,
                removed: 1
            }
        );
        assert!(matches!(
            fixture.blobs.locate(&orphan),
            Err(StorageError::Missing(_))
        ));
        assert!(!partial.exists(), "a stale partial write is removed");
        assert!(
            fixture.blobs.locate(&fresh).is_ok(),
            "a fresh blob is left alone"
        );
        assert_eq!(
            fixture.stored_blobs().len(),
            referenced_before + 1,
            "every referenced blob stays"
        );
        let again =
            sweep_unreferenced_blobs(&mut connection, &fixture.blobs, SWEEP_MIN_AGE_DEFAULT)?;
        assert_eq!(again.removed, 0, "a second sweep finds nothing");
    }
    Ok(())
}
