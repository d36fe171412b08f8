//! The demo: accounts, and a catalog of releases whose music ([`audio`]) and covers ([`art`]) are
//! generated, seeded through the same code paths as real uploads (files written with their tags
//! and embedded cover, sandboxed analysis, ingest, pricing, publishing), so the embedded default
//! has something to browse, play and buy. Seeding is idempotent and resumable: whatever is there
//! already (an account, a published release, the tracks of a draft a crash left) is kept, and only
//! what is missing is added.

mod ads;
mod content;
mod history;
pub mod roster;

pub use megabox_demo_media::{art, audio};

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use catalog::analysis::Analysis;
use catalog::media::{self, StorageQuota, Upload};
use catalog::releases::{self, NewRelease, ReleaseState, ReleaseUpdate};
use catalog::sandbox::AnalysisSandbox;
use catalog::storage::LocalBlobStore;
use catalog::tags::Tags;
use catalog::tracks::{self, TrackUpdate};
use chrono::NaiveDateTime;
use megabox_database::{DbConnection, DbPool};
use megabox_domain::{ArtistId, ReleaseId, UserId};

use crate::accounts::{self, DisplayName, Email, Password, Role};
use crate::auth::passwords;
use crate::configuration::Settings;
pub use ads::CAMPAIGN_NAME;
pub use content::{ARTISTS, DemoPrice, FANS, RELEASES};
pub use history::HistoryReport;
pub use roster::{ADMIN_EMAIL, DEMO_PASSWORD, DemoAccount, LISTENER_EMAIL, describe};

/// Generated tracks last between these (seconds): longer than the 30 s a play needs to qualify,
/// short enough to seed the whole catalog in well under a minute.
const TRACK_SECONDS_MIN: u32 = 32;
const TRACK_SECONDS_MAX: u32 = 40;
/// Tracks are generated and analysed on this many threads at most (each analysis is a child
/// process, so they really run in parallel).
const SEED_WORKERS_MAX: usize = 4;

/// What one seeding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub accounts_created: usize,
    pub releases_published: usize,
    pub tracks_added: usize,
    pub creatives_added: usize,
    /// `None` when the history was not made: it needs the test-mode payment gateway.
    pub history: Option<HistoryReport>,
    pub elapsed: Duration,
}

impl SeedReport {
    pub fn added_anything(&self) -> bool {
        let history = self.history.as_ref().map_or(0, |history| {
            history.sales + history.plays + history.impressions + history.periods_closed
        });
        self.accounts_created
            + self.releases_published
            + self.tracks_added
            + self.creatives_added
            + history
            > 0
    }
}

/// Seeds whatever of the demo is not there yet; `now` dates the releases.
pub fn seed(
    settings: &Settings,
    pool: &DbPool,
    sandbox: &AnalysisSandbox,
    now: NaiveDateTime,
) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let mut connection = pool.get()?;
    let (users, accounts_created) = ensure_accounts(&mut connection)?;
    let mut artists = Vec::with_capacity(ARTISTS.len());
    for artist in &ARTISTS {
        let user = users
            .get(artist.email)
            .context("demo artist account missing")?;
        let profile = catalog::artists::create_or_get(&mut connection, *user, artist.name)?;
        if profile.bio.is_empty() {
            let update = catalog::artists::ArtistProfileUpdate {
                bio: Some(artist.bio.to_owned()),
                ..Default::default()
            };
            catalog::artists::update_profile(&mut connection, profile.id, &update)?;
        }
        artists.push(profile.id);
    }

    // The drafts to complete, and every track they miss.
    let mut drafts = Vec::new();
    let mut wanted = Vec::new();
    for (index, demo) in RELEASES.iter().enumerate() {
        let artist = artists[demo.artist];
        let Some((release, present)) = draft_to_complete(&mut connection, artist, demo.title)?
        else {
            continue;
        };
        for (position, title) in demo.tracks.iter().enumerate().skip(present) {
            wanted.push(WantedTrack {
                release_index: index,
                position,
                title,
            });
        }
        drafts.push((index, artist, release));
    }
    std::fs::create_dir_all(settings.upload_dir())?;
    let mut prepared = prepare_tracks(settings, sandbox, &wanted)?;

    let blobs = LocalBlobStore::open(settings.media_dir())?;
    let quota = StorageQuota {
        bytes_max: settings.storage_quota_bytes,
    };
    let mut tracks_added = 0;
    for (index, artist, release) in &drafts {
        let demo = &RELEASES[*index];
        for track in prepared
            .iter_mut()
            .filter(|track| track.release_index == *index)
        {
            let upload = Upload {
                path: track.file.path(),
                original_file_name: &format!("{:02} {}.wav", track.position + 1, track.title),
                analysis: &track.analysis,
            };
            let ingested =
                media::ingest(&mut connection, &blobs, *artist, *release, upload, quota)?;
            let update = TrackUpdate {
                price: Some(Some(demo.track_price.to_price()?)),
                ..TrackUpdate::default()
            };
            tracks::update_track(&mut connection, *artist, ingested.track.id, &update)?;
            tracks_added += 1;
        }
        let update = ReleaseUpdate {
            price: Some(Some(demo.price.to_price()?)),
            release_date: Some(Some(
                (now - chrono::Duration::days(i64::from(demo.released_days_ago))).date(),
            )),
            credits: Some(demo.credits.to_owned()),
            tags: Some(Tags::parse(demo.tags)?),
            ..ReleaseUpdate::default()
        };
        releases::update_release(&mut connection, *artist, *release, &update)?;
        releases::publish(&mut connection, *artist, *release)?;
    }
    let covers: Vec<(art::Design, u64)> = (0..RELEASES.len()).map(cover_of).collect();
    let (campaign, creatives_added) = ads::seed_campaign(
        settings,
        &mut connection,
        history::history_start(now),
        now,
        &covers,
    )?;
    let mut published = Vec::with_capacity(RELEASES.len());
    for demo in &RELEASES {
        let artist = artists[demo.artist];
        let release = releases::releases_of_artist(&mut connection, artist)?
            .into_iter()
            .find(|release| release.title.as_deref() == Some(demo.title))
            .context("a demo release vanished")?;
        let detail = releases::release_for_owner(&mut connection, artist, release.id)?;
        published.push((
            release.id,
            detail
                .tracks
                .iter()
                .map(|track| track.id)
                .collect::<Vec<_>>(),
        ));
    }
    drop(connection);
    let fans: Vec<UserId> = FANS
        .iter()
        .map(|(email, _)| users.get(email).copied().context("a demo fan is missing"))
        .collect::<anyhow::Result<_>>()?;
    let history = if settings.payments_mode()? == crate::configuration::PaymentsMode::Test {
        let seeded = history::SeededDemo {
            fans: &fans,
            artists: &artists,
            releases: &published,
            campaign,
        };
        Some(history::seed_history(settings, pool, &seeded, now)?)
    } else {
        None
    };
    Ok(SeedReport {
        accounts_created,
        releases_published: drafts.len(),
        tracks_added,
        creatives_added,
        history,
        elapsed: started.elapsed(),
    })
}

/// The demo accounts by email, creating those that are missing; and how many were created.
fn ensure_accounts(
    connection: &mut DbConnection,
) -> anyhow::Result<(HashMap<&'static str, UserId>, usize)> {
    let mut users = HashMap::new();
    let mut created = 0;
    let mut hash = None;
    let fans = FANS.iter().map(|(email, name)| DemoAccount {
        email,
        role: Role::Listener,
        display_name: name,
        try_this: "",
    });
    for account in roster::accounts().into_iter().chain(fans) {
        let email = Email::parse(account.email)?;
        if let Some((existing, _)) = accounts::find_by_email(connection, &email)? {
            users.insert(account.email, existing.id);
            continue;
        }
        // Hashing is deliberately slow: once for all the accounts.
        let hash = match &hash {
            Some(hash) => hash,
            None => hash.insert(passwords::hash_password(&Password::parse(
                DEMO_PASSWORD.to_owned().into(),
            )?)?),
        };
        let new = accounts::create_account(
            connection,
            &email,
            hash,
            &DisplayName::parse(account.display_name)?,
            account.role,
        )?;
        if account.email == LISTENER_EMAIL {
            // The demo listener is on the free tier, so full tracks play without buying.
            accounts::set_agent_active(connection, new.id, true)?;
        }
        users.insert(account.email, new.id);
        created += 1;
    }
    Ok((users, created))
}

/// The artist's unpublished release titled `title` (a new draft if there is none) and how many
/// of its tracks are there; `None` once it is published.
fn draft_to_complete(
    connection: &mut DbConnection,
    artist: ArtistId,
    title: &str,
) -> anyhow::Result<Option<(ReleaseId, usize)>> {
    let existing = releases::releases_of_artist(connection, artist)?
        .into_iter()
        .find(|release| release.title.as_deref() == Some(title));
    match existing {
        Some(release) if release.state == ReleaseState::Published => Ok(None),
        Some(release) => {
            let detail = releases::release_for_owner(connection, artist, release.id)?;
            Ok(Some((release.id, detail.tracks.len())))
        }
        None => {
            let demo = RELEASES
                .iter()
                .find(|demo| demo.title == title)
                .context("not a demo release")?;
            let new = NewRelease {
                title: Some(title.to_owned()),
                kind: demo.kind,
            };
            Ok(Some((
                releases::create_draft(connection, artist, &new)?.id,
                0,
            )))
        }
    }
}

struct WantedTrack {
    release_index: usize,
    /// 0-based place in the release.
    position: usize,
    title: &'static str,
}

struct PreparedTrack {
    release_index: usize,
    position: usize,
    title: &'static str,
    file: tempfile::NamedTempFile,
    analysis: Analysis,
}

/// Generates, writes and analyses the wanted tracks on a few threads; the result is in the
/// order asked for.
fn prepare_tracks(
    settings: &Settings,
    sandbox: &AnalysisSandbox,
    wanted: &[WantedTrack],
) -> anyhow::Result<Vec<PreparedTrack>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, anyhow::Result<PreparedTrack>)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, SEED_WORKERS_MAX);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(track) = wanted.get(index) else {
                        return;
                    };
                    let result = prepare_track(settings, sandbox, track);
                    let failed = result.is_err();
                    if let Ok(mut results) = results.lock() {
                        results.push((index, result));
                    }
                    if failed {
                        // Stop handing out work: the first error ends the seeding.
                        next.store(wanted.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut results = results
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a track generator panicked"))?;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

fn prepare_track(
    settings: &Settings,
    sandbox: &AnalysisSandbox,
    track: &WantedTrack,
) -> anyhow::Result<PreparedTrack> {
    let demo = &RELEASES[track.release_index];
    let artist = &ARTISTS[demo.artist];
    let seed = seed_of(&[demo.title, track.title]);
    let seconds = TRACK_SECONDS_MIN
        + u32::try_from(seed % u64::from(TRACK_SECONDS_MAX - TRACK_SECONDS_MIN + 1)).unwrap_or(0);
    let song = audio::song(&demo.style, seed, seconds);
    // The first file of a release carries its cover, as a label's files do.
    let cover = if track.position == 0 {
        let (design, seed) = cover_of(track.release_index);
        Some(art::cover_jpeg(design, seed)?)
    } else {
        None
    };
    let tags = audio::TrackTags {
        title: track.title,
        artist: artist.name,
        album: demo.title,
        track_number: u32::try_from(track.position + 1).unwrap_or(1),
        cover_jpeg: cover.as_deref(),
    };
    let file = tempfile::Builder::new()
        .suffix(".wav")
        .tempfile_in(settings.upload_dir())?;
    std::fs::write(file.path(), audio::stereo_wav(&song, &tags))?;
    let analysis = sandbox
        .analyze(file.path())
        .with_context(|| format!("analysing the generated {:?}", track.title))?;
    Ok(PreparedTrack {
        release_index: track.release_index,
        position: track.position,
        title: track.title,
        file,
        analysis,
    })
}

/// The design and seed of a demo release's cover; neighbours in the list get different designs.
fn cover_of(release_index: usize) -> (art::Design, u64) {
    let design = art::Design::ALL[release_index % art::Design::ALL.len()];
    let title = RELEASES
        .get(release_index)
        .map_or("", |release| release.title);
    (design, seed_of(&[title]))
}

/// FNV-1a over the parts: a stable seed from names, the same on every platform and version.
fn seed_of(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_varied() {
        assert!(RELEASES.len() >= 12);
        let artists: std::collections::HashSet<usize> =
            RELEASES.iter().map(|release| release.artist).collect();
        assert_eq!(artists.len(), ARTISTS.len(), "every artist has a release");
        let kinds: std::collections::HashSet<&str> = RELEASES
            .iter()
            .map(|release| release.kind.as_str())
            .collect();
        assert_eq!(kinds.len(), 3, "albums, EPs and singles");
        assert!(
            RELEASES
                .iter()
                .any(|release| matches!(release.price, DemoPrice::Fixed(_)))
        );
        assert!(
            RELEASES
                .iter()
                .any(|release| matches!(release.price, DemoPrice::PayWhatYouWant { .. }))
        );
        let titles: std::collections::HashSet<&str> =
            RELEASES.iter().map(|release| release.title).collect();
        assert_eq!(
            titles.len(),
            RELEASES.len(),
            "titles find releases again, so they are unique"
        );
    }

    #[test]
    fn seeds_are_stable() {
        assert_eq!(seed_of(&["a", "b"]), seed_of(&["a", "b"]));
        assert_ne!(seed_of(&["ab"]), seed_of(&["a", "b"]));
    }
}
