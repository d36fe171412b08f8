//! The demo catalog: a few accounts and releases with generated music, seeded through the same
//! code paths as real uploads (sandboxed analysis, ingest, pricing, publishing), so the embedded
//! default has something to browse, play and buy. Seeding is idempotent: a database that has
//! the demo artist already is left alone.

pub mod audio;

use anyhow::Context;
use catalog::media::{self, StorageQuota, Upload};
use catalog::pricing::Price;
use catalog::releases::{self, NewRelease, ReleaseKind, ReleaseUpdate};
use catalog::sandbox::AnalysisSandbox;
use catalog::storage::LocalBlobStore;
use catalog::tracks::{self, TrackUpdate};
use megabox_database::DbPool;
use megabox_domain::Cents;

use crate::accounts::{self, DisplayName, Email, Password, Role};
use crate::auth::passwords;
use crate::configuration::Settings;

/// Every demo account's password. Demo data only: printed at start, never for real accounts.
pub const DEMO_PASSWORD: &str = "megabox-demo-password";

struct DemoRelease {
    artist_email: &'static str,
    artist_name: &'static str,
    title: &'static str,
    kind: ReleaseKind,
    price: fn() -> Result<Price, catalog::CatalogError>,
    tracks: &'static [(&'static str, &'static [i32], u32)],
}

const RELEASES: &[DemoRelease] = &[
    DemoRelease {
        artist_email: "nova@demo.megabox.test",
        artist_name: "Nova Static",
        title: "Harbour Lights",
        kind: ReleaseKind::Album,
        price: || Price::pay_what_you_want(Cents(500), Cents(800)),
        tracks: &[
            ("Low Tide", &[0, 3, 7, 10, 12, 10, 7, 3], 300),
            ("Signal Fires", &[0, 5, 7, 12, 7, 5, 3, 0], 240),
            ("Night Ferry", &[-5, 0, 2, 3, 7, 3, 2, 0], 360),
        ],
    },
    DemoRelease {
        artist_email: "weekends@demo.megabox.test",
        artist_name: "The Long Weekends",
        title: "Sunday Drive",
        kind: ReleaseKind::Single,
        price: || Price::fixed(Cents(129)),
        tracks: &[("Sunday Drive", &[0, 2, 4, 7, 9, 7, 4, 2], 200)],
    },
];

const TRACK_SECONDS: u32 = 40;

/// Accounts a person can sign in with after seeding.
pub struct DemoAccount {
    pub email: &'static str,
    pub role: Role,
}

pub const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "listener@demo.megabox.test",
        role: Role::Listener,
    },
    DemoAccount {
        email: "nova@demo.megabox.test",
        role: Role::Artist,
    },
    DemoAccount {
        email: "weekends@demo.megabox.test",
        role: Role::Artist,
    },
    DemoAccount {
        email: "admin@demo.megabox.test",
        role: Role::Admin,
    },
];

/// Seeds the demo catalog unless it is there already; returns whether anything was added.
pub fn seed(settings: &Settings, pool: &DbPool, sandbox: &AnalysisSandbox) -> anyhow::Result<bool> {
    let mut connection = pool.get()?;
    let first = Email::parse(ACCOUNTS[1].email)?;
    if accounts::find_by_email(&mut connection, &first)?.is_some() {
        return Ok(false);
    }
    let password = Password::parse(DEMO_PASSWORD.to_owned().into())?;
    let hash = passwords::hash_password(&password)?;
    for account in ACCOUNTS {
        let name = RELEASES
            .iter()
            .find(|release| release.artist_email == account.email)
            .map_or("Demo listener", |release| release.artist_name);
        let created = accounts::create_account(
            &mut connection,
            &Email::parse(account.email)?,
            &hash,
            &DisplayName::parse(name)?,
            account.role,
        )?;
        if account.role == Role::Listener {
            // The demo listener is on the free tier, so full tracks play without buying.
            accounts::set_agent_active(&mut connection, created.id, true)?;
        }
    }
    let blobs = LocalBlobStore::open(settings.media_dir())?;
    std::fs::create_dir_all(settings.upload_dir())?;
    for demo in RELEASES {
        let (account, _) =
            accounts::find_by_email(&mut connection, &Email::parse(demo.artist_email)?)?
                .context("demo artist missing")?;
        let artist =
            catalog::artists::create_or_get(&mut connection, account.id, demo.artist_name)?.id;
        let release = releases::create_draft(
            &mut connection,
            artist,
            &NewRelease {
                title: Some(demo.title.to_owned()),
                kind: demo.kind,
            },
        )?
        .id;
        for (title, notes, beat_ms) in demo.tracks {
            let samples = audio::melody(TRACK_SECONDS, notes, *beat_ms);
            let file = tempfile::Builder::new()
                .suffix(".wav")
                .tempfile_in(settings.upload_dir())?;
            std::fs::write(
                file.path(),
                audio::tagged_wav_from_samples(&samples, title, demo.artist_name, demo.title),
            )?;
            let analysis = sandbox.analyze(file.path())?;
            let upload = Upload {
                path: file.path(),
                original_file_name: &format!("{title}.wav"),
                analysis: &analysis,
            };
            let ingested = media::ingest(
                &mut connection,
                &blobs,
                artist,
                release,
                upload,
                StorageQuota {
                    bytes_max: settings.storage_quota_bytes,
                },
            )?;
            let track_price = TrackUpdate {
                price: Some(Some(Price::fixed(Cents(99))?)),
                ..TrackUpdate::default()
            };
            tracks::update_track(&mut connection, artist, ingested.track.id, &track_price)?;
        }
        releases::update_release(
            &mut connection,
            artist,
            release,
            &ReleaseUpdate {
                price: Some(Some((demo.price)()?)),
                ..ReleaseUpdate::default()
            },
        )?;
        releases::publish(&mut connection, artist, release)?;
    }
    Ok(true)
}

/// What to print so a person can try the demo.
pub fn describe(address: &str) -> String {
    let mut text = format!(
        "\nMegabox demo on {address} — TEST MODE: no real payments.\nSign in with password `{DEMO_PASSWORD}` as:\n"
    );
    for account in ACCOUNTS {
        text.push_str(&format!(
            "  {:<32} ({})\n",
            account.email,
            account.role.as_str()
        ));
    }
    text
}
