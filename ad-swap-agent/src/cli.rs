//! The `megabox-agent` subcommands: pair, run, status, pause, resume, uninstall.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use megabox_protocol::{DeviceRegistration, PairingCode, PublicKey};

use crate::certificate_authority::AllowListedAuthority;
use crate::filters::FilterEngine;
use crate::install::{CA_CERTIFICATE_FILE, FILTER_CACHE_FILE, InstallDirectory, Pairing};
use crate::proxy::Agent;
use crate::server::ServerClient;
use crate::settings::Settings;

/// Megabox agent: swaps a few ads on allow-listed sites for Megabox ads and earns you free music.
/// Settings come from MEGABOX_AGENT_* environment variables (see the README).
#[derive(Parser)]
#[command(name = "megabox-agent", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create this install's keys and local CA and pair it with your Megabox account.
    Pair {
        /// The pairing code shown on your Megabox account page.
        code: String,
        /// The Megabox server, e.g. https://megabox.example.
        #[arg(long)]
        server: String,
    },
    /// Run the local proxy (point your browser's proxy setting at MEGABOX_AGENT_BIND).
    Run,
    /// Show whether the agent is paired, active or paused, and today's counts.
    Status,
    /// Stop swapping ads (the proxy keeps passing traffic through untouched).
    Pause,
    /// Start swapping ads again.
    Resume,
    /// Remove the keys, the local CA and all agent files.
    Uninstall,
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::from_environment()?;
    let directory = InstallDirectory::open(&settings.agent_directory)?;
    match cli.command {
        Command::Pair { code, server } => pair(&settings, &directory, &code, &server).await,
        Command::Run => run_proxy(settings, directory).await,
        Command::Status => status(&settings, &directory).await,
        Command::Pause => set_paused(&settings, &directory, true).await,
        Command::Resume => set_paused(&settings, &directory, false).await,
        Command::Uninstall => uninstall(&directory),
    }
}

async fn pair(
    settings: &Settings,
    directory: &InstallDirectory,
    code: &str,
    server_url: &str,
) -> anyhow::Result<()> {
    let code = PairingCode::parse(code)?;
    let key = directory.device_key()?;
    directory.install_secret()?;
    if directory.certificate_authority()?.is_none() {
        directory.create_certificate_authority(&settings.allow_list)?;
    }
    let client = ServerClient::new(server_url, &settings.resolve_overrides)?;
    let registered = client
        .register(&DeviceRegistration {
            code,
            public_key: PublicKey::of(&key),
        })
        .await?;
    directory.save_pairing(&Pairing {
        server_url: client.base_url().to_owned(),
        device_id: registered.device_id,
    })?;
    println!("Paired. Device id: {}", registered.device_id.0);
    println!(
        "Local CA (trust it in your browser to let the agent see the allow-listed sites only):"
    );
    println!("  {}", directory.path(CA_CERTIFICATE_FILE).display());
    println!(
        "It is limited by name constraints to: {}",
        settings.allow_list.domains().join(", ")
    );
    println!(
        "Then run `megabox-agent run` and set your browser's HTTP and HTTPS proxy to {}.",
        settings.bind
    );
    Ok(())
}

async fn run_proxy(settings: Settings, directory: InstallDirectory) -> anyhow::Result<()> {
    let (certificate_pem, key_pem) = match directory.certificate_authority()? {
        Some(pair) => pair,
        None => anyhow::bail!("no local CA yet: run `megabox-agent pair CODE --server URL` first"),
    };
    let authority =
        AllowListedAuthority::load(&certificate_pem, &key_pem, settings.allow_list.clone())?;
    let pairing = directory.pairing().ok();
    let server = pairing
        .as_ref()
        .map(|pairing| ServerClient::new(&pairing.server_url, &settings.resolve_overrides))
        .transpose()?;
    let filters = FilterEngine::load(&settings.filter_lists, &directory.path(FILTER_CACHE_FILE))?;
    let agent = Arc::new(Agent::new(
        settings.clone(),
        directory.clone(),
        filters,
        server,
    )?);
    if let Some(pairing) = pairing {
        tokio::spawn(crate::proxy::report_forever(
            Arc::clone(&agent),
            directory.device_key()?,
            pairing.device_id,
        ));
    } else {
        tracing::warn!(
            "not paired: impressions are kept locally until `megabox-agent pair` is run"
        );
    }
    let listener = tokio::net::TcpListener::bind(settings.bind).await?;
    println!(
        "Megabox agent listening on {} (status page: http://{}/)",
        settings.bind, settings.bind
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    crate::proxy::serve(agent, listener, authority, shutdown).await
}

/// Asks the running agent (if any) over its local port; `None` when it is not running.
async fn ask_running_agent(
    settings: &Settings,
    method: reqwest::Method,
    path: &str,
) -> Option<String> {
    let origin = format!("http://{}", settings.bind);
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok()?;
    let response = client
        .request(method, format!("{origin}{path}"))
        .header("origin", &origin)
        .send()
        .await
        .ok()?;
    response.text().await.ok()
}

async fn status(settings: &Settings, directory: &InstallDirectory) -> anyhow::Result<()> {
    match directory.pairing() {
        Ok(pairing) => println!(
            "Paired with {} as device {}",
            pairing.server_url, pairing.device_id.0
        ),
        Err(_) => println!("Not paired."),
    }
    let state = directory.state()?;
    println!("{}", if state.paused { "Paused." } else { "Active." });
    match ask_running_agent(settings, reqwest::Method::GET, "/megabox/status.json").await {
        Some(live) => println!("Running on {}: {live}", settings.bind),
        None => println!("Not running on {}.", settings.bind),
    }
    Ok(())
}

async fn set_paused(
    settings: &Settings,
    directory: &InstallDirectory,
    paused: bool,
) -> anyhow::Result<()> {
    let path = if paused {
        "/megabox/pause"
    } else {
        "/megabox/resume"
    };
    if ask_running_agent(settings, reqwest::Method::POST, path)
        .await
        .is_none()
    {
        let mut state = directory.state()?;
        state.paused = paused;
        directory.save_state(&state)?;
    }
    println!(
        "{}",
        if paused {
            "Paused: pages pass through untouched."
        } else {
            "Resumed."
        }
    );
    Ok(())
}

fn uninstall(directory: &InstallDirectory) -> anyhow::Result<()> {
    let removed = directory.remove_everything()?;
    for path in &removed {
        println!("removed {}", path.display());
    }
    println!("Now remove the \"Megabox agent local CA\" from every place you trusted it:");
    println!(
        "  Chrome/Chromium on Linux: certutil -D -d sql:$HOME/.pki/nssdb -n \"Megabox agent local CA (this computer only)\""
    );
    println!(
        "  Firefox: Settings → Privacy & Security → Certificates → View Certificates → Authorities → delete \"Megabox agent\""
    );
    println!("  macOS: Keychain Access → System → delete \"Megabox agent local CA\"");
    println!(
        "  Windows: certmgr.msc → Trusted Root Certification Authorities → delete \"Megabox agent local CA\""
    );
    println!("and reset your browser's proxy setting.");
    Ok(())
}
