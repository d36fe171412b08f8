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
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away"));
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
    let keys: Vec<BlobKey> = [BlobKind::Audio, BlobKind::Artwork, BlobKind::Audio].into_iter().map(BlobKey::generate).collect();
    for (index, key) in keys.iter().enumerate() {
        let content = vec![u8::try_from(index)?; 100_000 + index];
        assert_eq!(store.put(key, &mut content.as_slice(), 1 << 20)?, u64::try_from(content.len())?);
        let BlobLocation::LocalFile(path) = store.locate(key)?;
        assert!(path.starts_with(store.root()), "{path:?}");
        assert_eq!(std::fs::read(&path)?, content);
        assert_eq!(BlobKey::parse(&key.to_string())?, *key);
    }
    let everything = files_under(outer.path());
    assert_eq!(everything.len(), 3);
    assert!(everything.iter().all(|path| path.starts_with(store.root())));

    store.delete(&keys[0])?;
    assert!(matches!(store.locate(&keys[0]), Err(StorageError::Missing(_))));
    store.delete(&keys[0])?; // Deleting twice is fine: cleanup may be retried.
    assert_eq!(files_under(outer.path()).len(), 2);
    Ok(())
}

#[test]
fn a_failed_or_oversized_put_leaves_nothing() -> TestResult {
    let outer = tempfile::tempdir()?;
    let store = LocalBlobStore::open(outer.path())?;
    let key = BlobKey::generate(BlobKind::Audio);
    let broken = store.put(&key, &mut BrokenReader { remaining_bytes: 200_000 }, 1 << 20);
    assert!(matches!(broken, Err(StorageError::Io { .. })), "{broken:?}");
    let oversized = store.put(&key, &mut [0_u8; 1001].as_slice(), 1000);
    assert!(matches!(oversized, Err(StorageError::TooLarge { bytes_max: 1000, .. })), "{oversized:?}");
    assert_eq!(files_under(outer.path()), Vec::<std::path::PathBuf>::new(), "no blob and no temporary file");
    assert!(matches!(store.locate(&key), Err(StorageError::Missing(_))));

    assert_eq!(store.put(&key, &mut [0_u8; 1000].as_slice(), 1000)?, 1000, "exactly the limit fits");
    assert_eq!(store.put(&BlobKey::generate(BlobKind::Audio), &mut io::empty(), 1000)?, 0);
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
        assert!(matches!(BlobKey::parse(text), Err(StorageError::InvalidKey(_))), "{text:?}");
    }
    assert!(BlobKey::parse("artwork/0190e7a0-0000-7000-8000-000000000000").is_ok());
}
