//! Artists' payout accounts at the gateway (Stripe Connect Express accounts): created once per
//! artist, onboarded through a link the gateway hosts, and kept up to date by `account.updated`
//! webhooks. Royalties' payout runs learn the destination and its readiness through
//! [`royalties::set_payout_account`]; this crate keeps which gateway account belongs to which artist.

use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};
use megabox_database::{DbConnection, DbPool, write_transaction};
use megabox_domain::ArtistId;
use royalties::PayoutAccountStatus;

use crate::gateway::PaymentGateway;
use crate::schema::payment_payout_accounts;
use crate::{PaymentsError, now, with_connection};

/// Returns where the artist sets up (or continues setting up) their payout account, creating the
/// gateway account the first time. Calling it again reuses the account.
pub async fn start_payout_onboarding(
    pool: &DbPool,
    gateway: &dyn PaymentGateway,
    artist: ArtistId,
) -> Result<String, PaymentsError> {
    let account_id = match with_connection(pool, move |connection| {
        account_of_artist(connection, artist)
    })
    .await?
    {
        Some(account_id) => account_id,
        None => {
            // Idempotent at the gateway by the artist's id, so a concurrent or retried call gets
            // the same account and the insert below keeps exactly one row.
            let created = gateway.create_payout_account(artist).await?;
            let status = gateway.payout_account_status(&created).await?;
            with_connection(pool, move |connection| {
                let stored = write_transaction(connection, |connection| {
                    let current = now();
                    diesel::sql_query(
                        "INSERT INTO payment_payout_accounts (artist_id, account_id, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind::<Text, _>(artist.to_string())
                    .bind::<Text, _>(&created)
                    .bind::<Text, _>(status_name(status))
                    .bind::<Timestamp, _>(current)
                    .execute(connection)?;
                    account_of_artist(connection, artist)?.ok_or_else(|| PaymentsError::Corrupt(format!("payout account of {artist} vanished")))
                })?;
                royalties::set_payout_account(connection, artist, &stored, status)?;
                Ok(stored)
            })
            .await?
        }
    };
    Ok(gateway.payout_onboarding_url(&account_id).await?)
}

/// The artist's payout account status, `None` before onboarding started.
pub fn payout_account_status(
    connection: &mut DbConnection,
    artist: ArtistId,
) -> Result<Option<PayoutAccountStatus>, PaymentsError> {
    let status: Option<String> = payment_payout_accounts::table
        .find(artist.to_string())
        .select(payment_payout_accounts::status)
        .first(connection)
        .optional()?;
    status.map(|status| parse_status(&status)).transpose()
}

fn account_of_artist(
    connection: &mut DbConnection,
    artist: ArtistId,
) -> Result<Option<String>, PaymentsError> {
    Ok(payment_payout_accounts::table
        .find(artist.to_string())
        .select(payment_payout_accounts::account_id)
        .first(connection)
        .optional()?)
}

pub(crate) fn artist_of_account(
    connection: &mut DbConnection,
    account_id: &str,
) -> Result<Option<ArtistId>, PaymentsError> {
    let artist: Option<String> = payment_payout_accounts::table
        .filter(payment_payout_accounts::account_id.eq(account_id))
        .select(payment_payout_accounts::artist_id)
        .first(connection)
        .optional()?;
    artist
        .map(|artist| {
            artist
                .parse()
                .map_err(|_| PaymentsError::Corrupt(format!("artist id {artist:?}")))
        })
        .transpose()
}

/// Stores the account's status as the gateway reports it now (inside the caller's transaction).
pub(crate) fn apply_account_status(
    connection: &mut DbConnection,
    artist: ArtistId,
    status: PayoutAccountStatus,
) -> Result<(), PaymentsError> {
    diesel::update(payment_payout_accounts::table.find(artist.to_string()))
        .set((
            payment_payout_accounts::status.eq(status_name(status)),
            payment_payout_accounts::updated_at.eq(now()),
        ))
        .execute(connection)?;
    Ok(())
}

const STATUSES: [(PayoutAccountStatus, &str); 3] = [
    (PayoutAccountStatus::Pending, "pending"),
    (PayoutAccountStatus::Ready, "ready"),
    (PayoutAccountStatus::Disabled, "disabled"),
];

fn status_name(status: PayoutAccountStatus) -> &'static str {
    STATUSES
        .iter()
        .find(|(known, _)| *known == status)
        .map_or("pending", |(_, name)| name)
}

fn parse_status(text: &str) -> Result<PayoutAccountStatus, PaymentsError> {
    STATUSES
        .iter()
        .find(|(_, name)| *name == text)
        .map(|(status, _)| *status)
        .ok_or_else(|| PaymentsError::Corrupt(format!("payout account status {text:?}")))
}
