//! `megabox import DIR --artist EMAIL`: bulk import of a folder tree into draft releases, one
//! per directory, through the same sandboxed analysis and ingest as uploads. Resumable: audio
//! already in the artist's catalog is skipped by its hash, and a directory's draft is found
//! again by its title. Shows a progress bar and ends with a summary of what failed and why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use catalog::import::{ImportFileResult, ImportOutcome, ImportSummary};
use catalog::media::{self, StorageQuota, Upload};
use catalog::releases::{self, NewRelease, ReleaseKind, ReleaseState};
use catalog::storage::LocalBlobStore;
use indicatif::{ProgressBar, ProgressStyle};
use megabox_domain::{ArtistId, ReleaseId};

use crate::accounts::{self, Email, Role};
use crate::configuration::Settings;

pub fn run(
    settings: &Settings,
    directory: &Path,
    artist_email: &str,
) -> anyhow::Result<ImportSummary> {
    let pool = megabox_database::connect(&settings.effective_database_url(), 2)?;
    let mut connection = pool.get()?;
    let email = Email::parse(artist_email).context("--artist must be an email address")?;
    let (account, _) = accounts::find_by_email(&mut connection, &email)?
        .with_context(|| format!("no account {}", email.as_str()))?;
    anyhow::ensure!(
        account.role == Role::Artist,
        "{} is not an artist account",
        email.as_str()
    );
    let artist =
        catalog::artists::create_or_get(&mut connection, account.id, &account.display_name)?.id;
    let files = catalog::import::plan(directory)?;
    let sandbox = crate::children::analysis_sandbox(settings)?;
    let blobs = LocalBlobStore::open(settings.media_dir())?;
    let quota = StorageQuota {
        bytes_max: settings.storage_quota_bytes,
    };

    let progress = ProgressBar::new(u64::try_from(files.len()).unwrap_or(u64::MAX));
    progress.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} files  {elapsed_precise}  {wide_msg}",
    )?);
    let mut by_directory: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        by_directory
            .entry(file.parent().map(Path::to_path_buf).unwrap_or_default())
            .or_default()
            .push(file);
    }
    let mut results = Vec::new();
    for (folder, folder_files) in by_directory {
        let mut release: Option<ReleaseId> = None;
        let single = folder_files.len() == 1;
        for path in folder_files {
            progress.set_message(
                path.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            let outcome = match sandbox.analyze(&path) {
                Err(error) => ImportOutcome::Failed {
                    reason: error.to_string(),
                },
                Ok(analysis) => {
                    let release_id = match release {
                        Some(id) => id,
                        None => {
                            let title = analysis.tags.album.clone().unwrap_or_else(|| {
                                folder.file_name().map_or_else(
                                    || "Imported".to_owned(),
                                    |name| name.to_string_lossy().into_owned(),
                                )
                            });
                            let kind = if single {
                                ReleaseKind::Single
                            } else {
                                ReleaseKind::Album
                            };
                            let id = draft_titled(&mut connection, artist, &title, kind)?;
                            release = Some(id);
                            id
                        }
                    };
                    let file_name = path
                        .file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let upload = Upload {
                        path: &path,
                        original_file_name: &file_name,
                        analysis: &analysis,
                    };
                    ImportOutcome::of_ingest(&media::ingest(
                        &mut connection,
                        &blobs,
                        artist,
                        release_id,
                        upload,
                        quota,
                    ))
                }
            };
            results.push(ImportFileResult { path, outcome });
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    for result in &results {
        if let ImportOutcome::Failed { reason } = &result.outcome {
            eprintln!("failed: {}: {reason}", result.path.display());
        }
    }
    let summary = ImportSummary::of(&results);
    eprintln!(
        "imported {}, skipped {} already imported, failed {}",
        summary.imported, summary.skipped_duplicates, summary.failed
    );
    Ok(summary)
}

/// The artist's unpublished release with this title (from an earlier, interrupted run), or a new draft.
fn draft_titled(
    connection: &mut megabox_database::DbConnection,
    artist: ArtistId,
    title: &str,
    kind: ReleaseKind,
) -> anyhow::Result<ReleaseId> {
    let existing = releases::releases_of_artist(connection, artist)?
        .into_iter()
        .find(|release| {
            release.state != ReleaseState::Published && release.title.as_deref() == Some(title)
        });
    Ok(match existing {
        Some(release) => release.id,
        None => {
            releases::create_draft(
                connection,
                artist,
                &NewRelease {
                    title: Some(title.to_owned()),
                    kind,
                },
            )?
            .id
        }
    })
}
