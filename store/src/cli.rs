//! The operator's commands: `serve`, `admin create`, and the batch jobs.

use std::io::{BufRead, Write};

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::SecretString;

use crate::accounts::{self, DisplayName, Email, Password, Role};
use crate::auth::passwords;
use crate::configuration::{PaymentsMode, Settings};
use crate::startup::Application;
use crate::telemetry;

/// Megabox: a music store where artists keep 90% of the revenue.
///
/// Settings come from defaults, then the TOML file named by MEGABOX_CONFIG, then MEGABOX_*
/// environment variables (and DATABASE_URL, REDIS_URL); see README.md.
#[derive(Parser)]
#[command(name = "megabox", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server (on MEGABOX_BIND, default 127.0.0.1:8080).
    Serve {
        /// Seed the demo catalog and accounts first (if they are not there yet); without a Stripe
        /// key, payments run in test mode.
        #[arg(long)]
        demo: bool,
    },
    /// Seed a playable demo catalog and demo accounts into the configured database.
    Demo,
    /// Manage operator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Import a folder tree of audio files into draft releases of an artist (one per folder).
    Import {
        /// The folder to import.
        directory: std::path::PathBuf,
        /// The artist account's email.
        #[arg(long)]
        artist: String,
    },
    /// Accounting periods.
    Periods {
        #[command(subcommand)]
        command: PeriodsCommand,
    },
    /// Artists' payouts.
    Payouts {
        #[command(subcommand)]
        command: PayoutsCommand,
    },
    /// The royalty ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Stored files.
    Storage {
        #[command(subcommand)]
        command: StorageCommand,
    },
    /// Print the OpenAPI document of the REST API.
    Openapi,
}

#[derive(Subcommand)]
pub enum StorageCommand {
    /// Delete what a crash can leave behind: blobs no row refers to, and stale temporary files
    /// of uploads and transcodes. Only files older than --min-age-minutes are touched, so it is
    /// safe while servers run.
    Sweep {
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..))]
        min_age_minutes: u64,
    },
}

#[derive(Subcommand)]
pub enum PeriodsCommand {
    /// Close a period (YYYY-MM): allocate its ad revenue to artists. Idempotent and resumable.
    Close { period: String },
}

#[derive(Subcommand)]
pub enum PayoutsCommand {
    /// Pay every artist whose balance reached the threshold and whose payout account is ready;
    /// exactly one transfer each, even when a run is interrupted and run again.
    Run,
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Check every ledger invariant; exits non-zero and names the first violation if one fails.
    Verify,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an admin account; the password comes from MEGABOX_ADMIN_PASSWORD or a prompt.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Operator")]
        display_name: String,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init_logging(settings.log_format);
    match cli.command {
        Command::Serve { demo } => {
            let mut settings = settings;
            if demo {
                // The demo is for trying the store: without a Stripe key it takes test payments
                // wherever it runs.
                if settings.payments.is_none() && settings.stripe_secret_key.is_none() {
                    settings.payments = Some(PaymentsMode::Test);
                }
                seed_demo(&settings)?;
                settings.demo = true;
            }
            serve(settings)
        }
        Command::Demo => seed_demo(&settings),
        Command::Import { directory, artist } => {
            let summary = crate::import::run(&settings, &directory, &artist)?;
            anyhow::ensure!(
                summary.failed == 0,
                "{} files could not be imported",
                summary.failed
            );
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    display_name,
                },
        } => create_admin(&settings, &email, &display_name),
        Command::Periods {
            command: PeriodsCommand::Close { period },
        } => {
            let period: royalties::Period = period.parse()?;
            let pool = megabox_database::connect(&settings.effective_database_url(), 1)?;
            let closed = crate::routes::money::close_period(
                &mut *pool.get()?,
                period,
                settings.ad_allocation_model,
                &settings.royalty_settings()?,
            )
            .map_err(|error| anyhow::anyhow!("{error}"))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::routes::money::PeriodCloseView::from(closed))?
            );
            Ok(())
        }
        Command::Payouts {
            command: PayoutsCommand::Run,
        } => {
            let pool = megabox_database::connect(&settings.effective_database_url(), 2)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let run = runtime.block_on(async {
                let payments = crate::startup::payments(
                    &settings,
                    &pool,
                    &format!("http://{}", settings.bind),
                )?;
                let threshold = megabox_domain::Cents(settings.payout_threshold_cents);
                tokio::task::spawn_blocking(move || -> anyhow::Result<royalties::PayoutRun> {
                    Ok(royalties::run_payouts(
                        &mut *pool.get()?,
                        payments.payout_gateway(),
                        threshold,
                    )?)
                })
                .await?
            })?;
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::routes::commerce::PayoutRunView::from(run))?
            );
            Ok(())
        }
        Command::Ledger {
            command: LedgerCommand::Verify,
        } => {
            let pool = megabox_database::connect(&settings.effective_database_url(), 1)?;
            let outcome = crate::routes::money::verification(&mut *pool.get()?)
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            println!("{}", serde_json::to_string_pretty(&outcome)?);
            anyhow::ensure!(outcome.ok, "the ledger is inconsistent");
            Ok(())
        }
        Command::Storage {
            command: StorageCommand::Sweep { min_age_minutes },
        } => sweep_storage(
            &settings,
            std::time::Duration::from_secs(min_age_minutes * 60),
        ),
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::startup::openapi_document())?
            );
            Ok(())
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let application = Application::build(settings).await?;
        application
            .run_until_stopped()
            .await
            .context("server failed")
    })
}

fn sweep_storage(settings: &Settings, min_age: std::time::Duration) -> anyhow::Result<()> {
    let pool = megabox_database::connect(&settings.effective_database_url(), 1)?;
    let blobs = catalog::storage::LocalBlobStore::open(settings.media_dir())?;
    let blob_report = catalog::sweep::sweep_unreferenced_blobs(&mut *pool.get()?, &blobs, min_age)?;
    // Uploads and transcodes in progress live in these directories for seconds to minutes.
    let cutoff = std::time::SystemTime::now() - min_age;
    let mut temporary_files_removed = 0_u64;
    for directory in [settings.upload_dir(), settings.work_dir()] {
        for file in catalog::storage::files_written_before(&directory, cutoff)? {
            std::fs::remove_file(&file)?;
            temporary_files_removed += 1;
        }
    }
    println!(
        "{}",
        serde_json::json!({"blobs_examined": blob_report.examined, "blobs_removed": blob_report.removed, "temporary_files_removed": temporary_files_removed})
    );
    Ok(())
}

fn seed_demo(settings: &Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let pool = megabox_database::connect(&settings.effective_database_url(), 2)?;
    let sandbox = crate::children::analysis_sandbox(settings)?;
    let report = crate::demo::seed(settings, &pool, &sandbox, chrono::Utc::now().naive_utc())?;
    let address = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.bind));
    if report.added_anything() {
        eprintln!(
            "seeded the demo in {:.1} s: {} accounts, {} releases, {} tracks, {} ad creatives",
            report.elapsed.as_secs_f64(),
            report.accounts_created,
            report.releases_published,
            report.tracks_added,
            report.creatives_added
        );
        match &report.history {
            Some(history) => eprintln!(
                "history: {} sales, {} plays, {} ad impressions, {} periods closed, {} payouts",
                history.sales,
                history.plays,
                history.impressions,
                history.periods_closed,
                history.payouts
            ),
            None => eprintln!(
                "no history: the demo's past sales need the test-mode payment gateway (MEGABOX_PAYMENTS=test)"
            ),
        }
    } else {
        eprintln!(
            "the demo is seeded already ({:.1} s to check)",
            report.elapsed.as_secs_f64()
        );
    }
    eprintln!("{}", crate::demo::describe(&address));
    Ok(())
}

fn create_admin(settings: &Settings, email: &str, display_name: &str) -> anyhow::Result<()> {
    let email = Email::parse(email)?;
    let display_name = DisplayName::parse(display_name)?;
    let password = match std::env::var("MEGABOX_ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) => prompt_password()?,
    };
    let password = Password::parse(SecretString::from(password))?;
    let hash = passwords::hash_password(&password)?;
    std::fs::create_dir_all(&settings.data_dir)?;
    let pool = megabox_database::connect(&settings.effective_database_url(), 1)?;
    let mut connection = pool.get()?;
    let account =
        accounts::create_account(&mut connection, &email, &hash, &display_name, Role::Admin)?;
    println!("created admin {} ({})", account.email, account.id);
    Ok(())
}

fn prompt_password() -> anyhow::Result<String> {
    eprint!("password for the new admin: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
