//! The catalog side of `megabox import DIR --artist EMAIL`: which files to import, in which
//! order, and how each one ended. The CLI (in the store) analyses and ingests each planned
//! file and summarises the outcomes. A rerun is safe: files already imported are refused as
//! duplicates by their audio hash and reported as skipped.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use megabox_domain::TrackId;

use crate::error::CatalogError;
use crate::media::IngestedTrack;

/// File extensions (lower case) of the formats the analysis accepts.
pub const SUPPORTED_EXTENSIONS: [&str; 9] = [
    "aif", "aiff", "flac", "m4a", "mp3", "mp4", "oga", "ogg", "wav",
];
/// Directories deeper than this below the root are not entered.
pub const DEPTH_MAX: usize = 32;
/// A plan holds at most this many files; a larger library is imported in several runs.
pub const FILES_MAX: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("more than {FILES_MAX} files to import; import the library in parts")]
    TooManyFiles,
}

/// The audio files under `root`, sorted by path so that runs are repeatable and albums import
/// track by track. Symbolic links are followed, but each directory is entered once, so link
/// loops end, and a file reached by several paths is planned once, under the first path in
/// order. Anything that is not a regular file with a supported extension is left out, as are
/// directories that cannot be read (with a warning).
pub fn plan(root: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let unreadable = |source| ImportError::Unreadable {
        path: root.to_owned(),
        source,
    };
    let canonical_root = fs::canonicalize(root).map_err(unreadable)?;
    if !canonical_root.is_dir() {
        return Err(ImportError::NotADirectory(root.to_owned()));
    }
    let mut visited_directories = HashSet::from([canonical_root]);
    let mut found = Vec::new();
    let mut pending = vec![(root.to_owned(), 0_usize)];
    while let Some((directory, depth)) = pending.pop() {
        let mut entries = match fs::read_dir(&directory) {
            Ok(entries) => entries
                .flatten()
                .map(|entry| entry.path())
                .collect::<Vec<_>>(),
            Err(error) => {
                tracing::warn!(%error, path = %directory.display(), "skipping an unreadable directory");
                continue;
            }
        };
        // Sorted, so that which path of a linked directory is entered does not depend on the
        // file system's order.
        entries.sort();
        for path in entries.into_iter().rev() {
            // `metadata` follows links; a dangling link has none and is skipped.
            let Ok(metadata) = fs::metadata(&path) else {
                continue;
            };
            let Ok(canonical) = fs::canonicalize(&path) else {
                continue;
            };
            if metadata.is_dir() {
                if depth < DEPTH_MAX && visited_directories.insert(canonical) {
                    pending.push((path, depth + 1));
                }
            } else if metadata.is_file() && is_supported(&path) {
                if found.len() == FILES_MAX {
                    return Err(ImportError::TooManyFiles);
                }
                found.push((path, canonical));
            }
        }
    }
    found.sort();
    let mut seen_files = HashSet::new();
    Ok(found
        .into_iter()
        .filter(|(_, canonical)| seen_files.insert(canonical.clone()))
        .map(|(path, _)| path)
        .collect())
}

fn is_supported(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            SUPPORTED_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
        })
}

/// How the import of one file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported {
        track: TrackId,
    },
    /// The same audio is already in the artist's catalog (an earlier run, or another copy).
    SkippedDuplicate {
        existing_track: TrackId,
    },
    Failed {
        reason: String,
    },
}

impl ImportOutcome {
    /// The outcome of one ingest; analysis failures are `Failed` with the analysis message.
    pub fn of_ingest(result: &Result<IngestedTrack, CatalogError>) -> ImportOutcome {
        match result {
            Ok(ingested) => ImportOutcome::Imported {
                track: ingested.track.id,
            },
            Err(CatalogError::Duplicate { existing_track, .. }) => {
                ImportOutcome::SkippedDuplicate {
                    existing_track: *existing_track,
                }
            }
            Err(error) => ImportOutcome::Failed {
                reason: error.to_string(),
            },
        }
    }
}

/// One planned file and how it ended, for the CLI's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFileResult {
    pub path: PathBuf,
    pub outcome: ImportOutcome,
}

/// Counts for the CLI's final line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub imported: usize,
    pub skipped_duplicates: usize,
    pub failed: usize,
}

impl ImportSummary {
    pub fn of(results: &[ImportFileResult]) -> ImportSummary {
        let mut summary = ImportSummary::default();
        for result in results {
            match result.outcome {
                ImportOutcome::Imported { .. } => summary.imported += 1,
                ImportOutcome::SkippedDuplicate { .. } => summary.skipped_duplicates += 1,
                ImportOutcome::Failed { .. } => summary.failed += 1,
            }
        }
        summary
    }
}
