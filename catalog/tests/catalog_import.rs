//! Planning an import: which files under a directory are imported, in which order, and how the
//! outcomes are counted.

mod catalog_support;

use std::path::PathBuf;

use catalog::CatalogError;
use catalog::import::{ImportError, ImportFileResult, ImportOutcome, ImportSummary, plan};
use catalog_support::TestResult;
use megabox_domain::{ReleaseId, TrackId};

#[test]
fn plans_supported_files_in_a_stable_order() -> TestResult {
    let root = tempfile::tempdir()?;
    let at = |relative: &str| root.path().join(relative);
    for directory in ["b album", "a album/disc 2", "empty", "a album/cover art"] {
        std::fs::create_dir_all(at(directory))?;
    }
    for file in [
        "b album/02.mp3",
        "b album/01.FLAC",
        "a album/disc 2/01.wav",
        "a album/10.ogg",
        "a album/cover art/front.jpg",
        "notes.txt",
        "a album/.hidden.m4a",
        "track.aiff",
    ] {
        std::fs::write(at(file), b"audio?")?;
    }
    // A loop back to the root, a second path to one file (planned once, under the first path in
    // order), and a dangling link.
    std::os::unix::fs::symlink(root.path(), at("a album/loop"))?;
    std::os::unix::fs::symlink(at("track.aiff"), at("b album/same track.aiff"))?;
    std::os::unix::fs::symlink(at("missing.flac"), at("dangling.flac"))?;
    // A named pipe has a supported name but is not a file.
    let fifo = at("pipe.mp3");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()?
            .success()
    );

    let planned = plan(root.path())?;
    let relative: Vec<PathBuf> = planned
        .iter()
        .map(|path| path.strip_prefix(root.path()).map(PathBuf::from))
        .collect::<Result<_, _>>()?;
    let expected: Vec<PathBuf> = [
        "a album/.hidden.m4a",
        "a album/10.ogg",
        "a album/disc 2/01.wav",
        "b album/01.FLAC",
        "b album/02.mp3",
        "b album/same track.aiff",
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(relative, expected);
    assert_eq!(
        plan(root.path())?,
        planned,
        "the same tree plans the same way"
    );

    assert!(matches!(
        plan(&at("notes.txt")),
        Err(ImportError::NotADirectory(_))
    ));
    assert!(matches!(
        plan(&at("nowhere")),
        Err(ImportError::Unreadable { .. })
    ));
    Ok(())
}

#[test]
fn outcomes_are_summarised() {
    let track = TrackId::generate();
    let existing_track = TrackId::generate();
    let results: Vec<ImportOutcome> = vec![
        ImportOutcome::of_ingest(&Err(CatalogError::Duplicate {
            existing_track,
            existing_release: ReleaseId::generate(),
        })),
        ImportOutcome::of_ingest(&Err(CatalogError::QuotaExceeded {
            used_bytes: 10,
            incoming_bytes: 5,
            quota_bytes: 12,
        })),
        ImportOutcome::Imported { track },
        ImportOutcome::Failed {
            reason: "unsupported format: text".into(),
        },
    ];
    assert_eq!(
        results[0],
        ImportOutcome::SkippedDuplicate { existing_track }
    );
    assert!(matches!(&results[1], ImportOutcome::Failed { reason } if reason.contains("quota")));
    let file_results: Vec<ImportFileResult> = results
        .into_iter()
        .map(|outcome| ImportFileResult {
            path: PathBuf::from("x"),
            outcome,
        })
        .collect();
    assert_eq!(
        ImportSummary::of(&file_results),
        ImportSummary {
            imported: 1,
            skipped_duplicates: 1,
            failed: 2
        }
    );
}
