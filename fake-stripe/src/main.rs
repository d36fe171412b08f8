//! `fake-stripe`: runs the fake Stripe server by hand, for pointing a local `megabox serve` at it
//! (`MEGABOX_STRIPE_API_BASE`, `MEGABOX_STRIPE_SECRET_KEY`, `MEGABOX_STRIPE_WEBHOOK_SECRET`).

use clap::Parser;
use std::net::SocketAddr;

/// A fake of the Stripe API subset Megabox uses, in memory.
#[derive(Debug, Parser)]
struct Arguments {
    /// Where to listen.
    #[arg(long, env = "FAKE_STRIPE_BIND", default_value = "127.0.0.1:12111")]
    bind: SocketAddr,
    /// The secret key clients must send.
    #[arg(long, env = "FAKE_STRIPE_SECRET_KEY", default_value = fake_stripe::DEFAULT_SECRET_KEY)]
    secret_key: String,
    /// Where to send events (the store's webhook URL).
    #[arg(long, env = "FAKE_STRIPE_WEBHOOK_URL", requires = "webhook_secret")]
    webhook_url: Option<String>,
    /// The webhook signing secret (`whsec_…`).
    #[arg(long, env = "FAKE_STRIPE_WEBHOOK_SECRET")]
    webhook_secret: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let webhook_endpoint = arguments
        .webhook_url
        .zip(arguments.webhook_secret)
        .map(|(url, secret)| fake_stripe::WebhookEndpoint { url, secret });
    let config = fake_stripe::FakeStripeConfig {
        bind: arguments.bind,
        secret_key: arguments.secret_key,
        webhook_endpoint,
        ..fake_stripe::FakeStripeConfig::default()
    };
    let fake = fake_stripe::FakeStripe::start(config).await?;
    println!("fake Stripe listening on {}", fake.base_url());
    tokio::signal::ctrl_c().await?;
    fake.stop().await;
    Ok(())
}
