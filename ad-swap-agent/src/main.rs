//! `megabox-agent`: parses the command line and hands over to [`megabox_agent::cli`].

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    megabox_agent::cli::run(megabox_agent::cli::Cli::parse()).await
}
