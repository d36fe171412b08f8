//! Recording what earns money or counts towards it: sales and refunds (posted to the ledger at
//! once), ad revenue (accrued as pending until its period closes) and its clawbacks, and
//! qualifying plays and credit redemptions (the weights of the ad allocation). Each call is
//! idempotent by its source id and books into the period of `occurred_at`, or the next open
//! period if that one is closing or closed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use megabox_database::{DbConnection, now, write_transaction};
use megabox_domain::{ArtistId, Cents, MicroCents, TrackId, UserId};

use crate::counters;
use crate::ledger::{self, Account, Claim, Posting, PostingLine, TransactionKind, micro};
use crate::period::{Period, PeriodStatus, booking_period, lock_period_status};
use crate::schema::{royalty_ad_revenue, royalty_plays, royalty_sale_items};
use crate::split::largest_remainder;
use crate::{RoyaltyError, RoyaltySettings, check_source_id, parse_artist};

/// Items in one sale (a cart); bounds the size of one ledger transaction.
pub const ITEMS_PER_SALE_MAX: usize = 500;
/// Basis points in a whole: a share numerator of net × bps is divided by this.
const BASIS_POINTS_PER_WHOLE: i64 = 10_000;

/// The outcome of a `record_*` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Recorded {
    /// The period the event was booked into.
    pub period: Period,
    /// True when this source id had already been recorded; nothing changed.
    pub duplicate: bool,
}

/// A paid cart: one sale, one processor fee for all its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleInput {
    pub sale_id: String,
    pub cart_id: String,
    pub items: Vec<SaleItem>,
    /// The processor's fee for the whole cart, shared among the items pro rata to their gross.
    pub processor_fee: Cents,
    pub occurred_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleItem {
    /// The release or track sold, unique within the sale.
    pub item_ref: String,
    pub artist: ArtistId,
    pub gross: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundScope {
    /// Every item of the sale not refunded yet.
    WholeSale,
    Items(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundInput {
    pub refund_id: String,
    pub sale_id: String,
    pub scope: RefundScope,
    pub occurred_at: NaiveDateTime,
}

/// Revenue one installer's agent earned: an impression or a batch of them, in micro-cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdRevenueInput {
    pub event_id: String,
    pub installer: UserId,
    pub campaign_id: String,
    pub amount: MicroCents,
    pub occurred_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayInput {
    pub play_id: String,
    pub listener: UserId,
    pub track: TrackId,
    pub artist: ArtistId,
    pub occurred_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionInput {
    pub redemption_id: String,
    pub listener: UserId,
    pub artist: ArtistId,
    pub occurred_at: NaiveDateTime,
}

#[derive(Queryable)]
struct SaleItemRow {
    sale_id: String,
    item_ref: String,
    artist_id: String,
    gross_cents: i64,
    fee_cents: i64,
    net_cents: i64,
    artist_share_bps: i64,
    period: String,
    refund_id: Option<String>,
}

fn parse_period(text: &str) -> Result<Period, RoyaltyError> {
    text.parse()
        .map_err(|_| RoyaltyError::CorruptRow(format!("period {text:?}")))
}

/// Records a paid sale: the gateway's gross comes in, the processor's fee goes out, and each
/// item's net is shared between its artist and the platform.
pub fn record_sale(
    connection: &mut DbConnection,
    sale: &SaleInput,
    settings: &RoyaltySettings,
) -> Result<Recorded, RoyaltyError> {
    check_source_id("sale_id", &sale.sale_id)?;
    check_source_id("cart_id", &sale.cart_id)?;
    if sale.items.is_empty() || sale.items.len() > ITEMS_PER_SALE_MAX {
        return Err(RoyaltyError::InvalidInput(format!(
            "a sale has 1 to {ITEMS_PER_SALE_MAX} items"
        )));
    }
    let mut items: Vec<&SaleItem> = sale.items.iter().collect();
    items.sort_by(|left, right| left.item_ref.cmp(&right.item_ref));
    let mut gross_total = 0_i64;
    for (index, item) in items.iter().enumerate() {
        check_source_id("item_ref", &item.item_ref)?;
        if index > 0 && items[index - 1].item_ref == item.item_ref {
            return Err(RoyaltyError::InvalidInput(format!(
                "item {} appears twice",
                item.item_ref
            )));
        }
        if item.gross.0 < 0 {
            return Err(RoyaltyError::InvalidInput(format!(
                "item {} has a negative gross",
                item.item_ref
            )));
        }
        gross_total = gross_total
            .checked_add(item.gross.0)
            .ok_or(RoyaltyError::Overflow)?;
    }
    if sale.processor_fee.0 < 0 || sale.processor_fee.0 > gross_total {
        return Err(RoyaltyError::InvalidInput(format!(
            "the processor fee {} must be between 0 and the gross {}",
            sale.processor_fee,
            Cents(gross_total)
        )));
    }
    // Micro-cents of the whole gross must fit, so every line of the sale does.
    micro(gross_total)?;
    let weights: Vec<(&str, u64)> = items
        .iter()
        .map(|item| {
            (
                item.item_ref.as_str(),
                u64::try_from(item.gross.0).unwrap_or(0),
            )
        })
        .collect();
    let fee_shares = largest_remainder(sale.processor_fee.0, &weights)?;
    let share_bps = settings.sale_artist_share.value();

    write_transaction(connection, |connection| {
        let period = booking_period(connection, sale.occurred_at)?;
        let mut posting = Posting {
            idempotency_key: sale_key(&sale.sale_id),
            kind: TransactionKind::Sale,
            source_id: sale.sale_id.clone(),
            period,
            reverses_transaction_id: None,
            booked_at: now(),
            lines: Vec::new(),
        };
        let transaction_id = match ledger::claim(connection, &posting)? {
            Claim::New { transaction_id } => transaction_id,
            Claim::Taken { period, .. } => {
                return Ok(Recorded {
                    period,
                    duplicate: true,
                });
            }
        };
        let mut lines = vec![
            PostingLine {
                account: Account::Gateway,
                amount: micro(-gross_total)?,
                source_ref: sale.cart_id.clone(),
            },
            PostingLine {
                account: Account::ProcessorFees,
                amount: micro(sale.processor_fee.0)?,
                source_ref: sale.cart_id.clone(),
            },
        ];
        for (item, (_, fee_cents)) in items.iter().zip(&fee_shares) {
            let net_cents = item.gross.0 - fee_cents;
            let numerator = net_cents
                .checked_mul(share_bps)
                .ok_or(RoyaltyError::Overflow)?;
            let artist_cents = credit_artist_sales(connection, item.artist, period, numerator)?;
            diesel::insert_into(royalty_sale_items::table)
                .values((
                    royalty_sale_items::sale_id.eq(&sale.sale_id),
                    royalty_sale_items::item_ref.eq(&item.item_ref),
                    royalty_sale_items::cart_id.eq(&sale.cart_id),
                    royalty_sale_items::artist_id.eq(item.artist.to_string()),
                    royalty_sale_items::gross_cents.eq(item.gross.0),
                    royalty_sale_items::fee_cents.eq(fee_cents),
                    royalty_sale_items::net_cents.eq(net_cents),
                    royalty_sale_items::artist_share_bps.eq(share_bps),
                    royalty_sale_items::artist_cents.eq(artist_cents),
                    royalty_sale_items::period.eq(period.to_string()),
                    royalty_sale_items::occurred_at.eq(sale.occurred_at),
                ))
                .execute(connection)?;
            lines.push(PostingLine {
                account: Account::ArtistPayable(item.artist),
                amount: micro(artist_cents)?,
                source_ref: item.item_ref.clone(),
            });
            lines.push(PostingLine {
                account: Account::PlatformRevenue,
                amount: micro(net_cents - artist_cents)?,
                source_ref: item.item_ref.clone(),
            });
        }
        posting.lines = lines;
        ledger::write_lines(connection, &transaction_id, posting)?;
        Ok(Recorded {
            period,
            duplicate: false,
        })
    })
}

fn sale_key(sale_id: &str) -> String {
    format!("sale:{sale_id}")
}

#[derive(QueryableByName)]
struct ArtistSalesRow {
    #[diesel(sql_type = BigInt)]
    share_numerator: i64,
    #[diesel(sql_type = BigInt)]
    credited_cents: i64,
}

/// Adds `numerator_delta` (net cents × basis points, negative for a refund) to the artist's
/// running entitlement for the period, and returns the whole cents to credit now: the rounded
/// entitlement minus what was credited before. Rounding the running total rather than each
/// item keeps the artist's sales income for a period within half a cent of the exact share,
/// however many small items it is made of.
fn credit_artist_sales(
    connection: &mut DbConnection,
    artist: ArtistId,
    period: Period,
    numerator_delta: i64,
) -> Result<i64, RoyaltyError> {
    let artist_id = artist.to_string();
    diesel::sql_query(
        "INSERT INTO royalty_artist_sales (artist_id, period, share_numerator, credited_cents) \
         VALUES ($1, $2, 0, 0) ON CONFLICT (artist_id, period) DO NOTHING",
    )
    .bind::<Text, _>(&artist_id)
    .bind::<Text, _>(period.to_string())
    .execute(connection)?;
    // Updating first takes the row lock on PostgreSQL before the read.
    diesel::sql_query(
        "UPDATE royalty_artist_sales SET share_numerator = share_numerator + $1 WHERE artist_id = $2 AND period = $3",
    )
    .bind::<BigInt, _>(numerator_delta)
    .bind::<Text, _>(&artist_id)
    .bind::<Text, _>(period.to_string())
    .execute(connection)?;
    let row: ArtistSalesRow = diesel::sql_query(
        "SELECT share_numerator, credited_cents FROM royalty_artist_sales WHERE artist_id = $1 AND period = $2",
    )
    .bind::<Text, _>(&artist_id)
    .bind::<Text, _>(period.to_string())
    .get_result(connection)?;
    let entitled_cents = rounded_share(row.share_numerator);
    diesel::sql_query(
        "UPDATE royalty_artist_sales SET credited_cents = $1 WHERE artist_id = $2 AND period = $3",
    )
    .bind::<BigInt, _>(entitled_cents)
    .bind::<Text, _>(&artist_id)
    .bind::<Text, _>(period.to_string())
    .execute(connection)?;
    Ok(entitled_cents - row.credited_cents)
}

/// Cents of a share numerator (cents × basis points), to the nearest cent with halves going
/// to the artist: the two-party largest-remainder split with the artist's key first.
pub(crate) fn rounded_share(share_numerator: i64) -> i64 {
    (share_numerator + BASIS_POINTS_PER_WHOLE / 2).div_euclid(BASIS_POINTS_PER_WHOLE)
}

/// Refunds a sale, whole or some of its items, as a reversing transaction. An artist whose
/// earnings were already paid out owes the shortfall (their receivable account), recovered
/// from their next earnings before a payout.
pub fn record_refund(
    connection: &mut DbConnection,
    refund: &RefundInput,
) -> Result<Recorded, RoyaltyError> {
    check_source_id("refund_id", &refund.refund_id)?;
    check_source_id("sale_id", &refund.sale_id)?;
    write_transaction(connection, |connection| {
        let rows: Vec<SaleItemRow> = royalty_sale_items::table
            .filter(royalty_sale_items::sale_id.eq(&refund.sale_id))
            .order(royalty_sale_items::item_ref)
            .select((
                royalty_sale_items::sale_id,
                royalty_sale_items::item_ref,
                royalty_sale_items::artist_id,
                royalty_sale_items::gross_cents,
                royalty_sale_items::fee_cents,
                royalty_sale_items::net_cents,
                royalty_sale_items::artist_share_bps,
                royalty_sale_items::period,
                royalty_sale_items::refund_id,
            ))
            .load(connection)?;
        if rows.is_empty() {
            return Err(RoyaltyError::UnknownSale(refund.sale_id.clone()));
        }
        let sale_transaction_id: Option<String> = crate::schema::ledger_transactions::table
            .filter(
                crate::schema::ledger_transactions::idempotency_key.eq(sale_key(&refund.sale_id)),
            )
            .select(crate::schema::ledger_transactions::id)
            .first(connection)
            .optional()?;
        let period = booking_period(connection, refund.occurred_at)?;
        let mut posting = Posting {
            idempotency_key: refund_key(&refund.refund_id),
            kind: TransactionKind::Refund,
            source_id: refund.refund_id.clone(),
            period,
            reverses_transaction_id: sale_transaction_id,
            booked_at: now(),
            lines: Vec::new(),
        };
        let transaction_id = match ledger::claim(connection, &posting)? {
            Claim::New { transaction_id } => transaction_id,
            Claim::Taken { period, .. } => {
                return Ok(Recorded {
                    period,
                    duplicate: true,
                });
            }
        };
        // `rows` may predate another refund of the same items committed meanwhile: the update
        // below claims each item only while it is still unrefunded.
        let mut selected: Vec<&SaleItemRow> = match &refund.scope {
            RefundScope::WholeSale => {
                let open: Vec<&SaleItemRow> =
                    rows.iter().filter(|row| row.refund_id.is_none()).collect();
                if open.is_empty() {
                    return Err(RoyaltyError::AlreadyRefunded {
                        sale_id: refund.sale_id.clone(),
                        item_ref: "*".to_owned(),
                    });
                }
                open
            }
            RefundScope::Items(item_refs) => {
                if item_refs.is_empty() {
                    return Err(RoyaltyError::InvalidInput(
                        "a refund names at least one item".to_owned(),
                    ));
                }
                let mut selected = Vec::with_capacity(item_refs.len());
                for item_ref in item_refs {
                    let row = rows
                        .iter()
                        .find(|row| &row.item_ref == item_ref)
                        .ok_or_else(|| RoyaltyError::UnknownItem {
                            sale_id: refund.sale_id.clone(),
                            item_ref: item_ref.clone(),
                        })?;
                    if row.refund_id.is_some()
                        || selected
                            .iter()
                            .any(|chosen: &&SaleItemRow| chosen.item_ref == *item_ref)
                    {
                        return Err(RoyaltyError::AlreadyRefunded {
                            sale_id: refund.sale_id.clone(),
                            item_ref: item_ref.clone(),
                        });
                    }
                    selected.push(row);
                }
                selected
            }
        };
        // One lock order for every refund of the sale, so that two of them cannot deadlock.
        selected.sort_by(|left, right| left.item_ref.cmp(&right.item_ref));
        let mut lines = Vec::new();
        // Payable still available per artist, decreasing as this refund takes from it.
        let mut available: Vec<(ArtistId, i64)> = Vec::new();
        for row in selected {
            let claimed =
                diesel::update(royalty_sale_items::table.find((&row.sale_id, &row.item_ref)))
                    .filter(royalty_sale_items::refund_id.is_null())
                    .set(royalty_sale_items::refund_id.eq(&refund.refund_id))
                    .execute(connection)?;
            if claimed != 1 {
                return Err(RoyaltyError::AlreadyRefunded {
                    sale_id: refund.sale_id.clone(),
                    item_ref: row.item_ref.clone(),
                });
            }
            let artist = parse_artist(&row.artist_id)?;
            let numerator = row
                .net_cents
                .checked_mul(row.artist_share_bps)
                .ok_or(RoyaltyError::Overflow)?;
            // The refund reverses the entitlement of the sale's own period.
            let artist_cents =
                -credit_artist_sales(connection, artist, parse_period(&row.period)?, -numerator)?;
            let available_micro = match available.iter_mut().find(|(known, _)| *known == artist) {
                Some((_, amount)) => amount,
                None => {
                    let balance = ledger::balance(connection, &Account::ArtistPayable(artist))?
                        .0
                        .max(0);
                    available.push((artist, balance));
                    &mut available.last_mut().ok_or(RoyaltyError::Overflow)?.1
                }
            };
            let artist_micro = micro(artist_cents)?.0;
            let from_payable = artist_micro.min(*available_micro);
            *available_micro -= from_payable;
            let reference = row.item_ref.clone();
            lines.extend([
                PostingLine {
                    account: Account::Gateway,
                    amount: micro(row.gross_cents)?,
                    source_ref: reference.clone(),
                },
                PostingLine {
                    account: Account::ProcessorFees,
                    amount: micro(-row.fee_cents)?,
                    source_ref: reference.clone(),
                },
                PostingLine {
                    account: Account::ArtistPayable(artist),
                    amount: MicroCents(-from_payable),
                    source_ref: reference.clone(),
                },
                PostingLine {
                    account: Account::ArtistReceivable(artist),
                    amount: MicroCents(from_payable - artist_micro),
                    source_ref: reference.clone(),
                },
                PostingLine {
                    account: Account::PlatformRevenue,
                    amount: micro(artist_cents - row.net_cents)?,
                    source_ref: reference,
                },
            ]);
            diesel::update(royalty_sale_items::table.find((&row.sale_id, &row.item_ref)))
                .set(royalty_sale_items::refund_artist_cents.eq(artist_cents))
                .execute(connection)?;
        }
        posting.lines = lines;
        ledger::write_lines(connection, &transaction_id, posting)?;
        Ok(Recorded {
            period,
            duplicate: false,
        })
    })
}

fn refund_key(refund_id: &str) -> String {
    format!("refund:{refund_id}")
}

/// Accrues ad revenue an installer's agent earned; it stays pending until its period closes.
pub fn record_ad_revenue(
    connection: &mut DbConnection,
    revenue: &AdRevenueInput,
) -> Result<Recorded, RoyaltyError> {
    check_source_id("event_id", &revenue.event_id)?;
    check_source_id("campaign_id", &revenue.campaign_id)?;
    if revenue.amount.0 <= 0 {
        return Err(RoyaltyError::InvalidInput(
            "ad revenue must be positive".to_owned(),
        ));
    }
    write_transaction(connection, |connection| {
        let period = booking_period(connection, revenue.occurred_at)?;
        let inserted = insert_ad_revenue(
            connection,
            &revenue.event_id,
            "accrual",
            Some(revenue.installer.to_string()),
            Some(&revenue.campaign_id),
            revenue.amount,
            period,
            revenue.occurred_at,
        )?;
        if !inserted {
            return Ok(Recorded {
                period: ad_revenue_period(connection, &revenue.event_id)?,
                duplicate: true,
            });
        }
        counters::add_installer_revenue(
            connection,
            period,
            &revenue.installer.to_string(),
            revenue.amount,
        )?;
        ledger::post(
            connection,
            Posting {
                idempotency_key: format!("ad:{}", revenue.event_id),
                kind: TransactionKind::AdRevenue,
                source_id: revenue.event_id.clone(),
                period,
                reverses_transaction_id: None,
                booked_at: now(),
                lines: vec![
                    PostingLine {
                        account: Account::Advertisers,
                        amount: MicroCents(-revenue.amount.0),
                        source_ref: revenue.campaign_id.clone(),
                    },
                    PostingLine {
                        account: Account::AdPending,
                        amount: revenue.amount,
                        source_ref: revenue.installer.to_string(),
                    },
                ],
            },
        )?;
        Ok(Recorded {
            period,
            duplicate: false,
        })
    })
}

/// Takes back an ad revenue event found invalid. Before its period closes the event's installer
/// simply earned less; after, the amount is deducted from the next open period's pool.
pub fn clawback_ad_revenue(
    connection: &mut DbConnection,
    event_id: &str,
    found_at: NaiveDateTime,
) -> Result<Recorded, RoyaltyError> {
    check_source_id("event_id", event_id)?;
    let clawback_id = format!("clawback:{event_id}");
    write_transaction(connection, |connection| {
        let original: Option<(Option<String>, Option<String>, i64, String)> =
            royalty_ad_revenue::table
                .find(event_id)
                .filter(royalty_ad_revenue::kind.eq("accrual"))
                .select((
                    royalty_ad_revenue::installer_id,
                    royalty_ad_revenue::campaign_id,
                    royalty_ad_revenue::amount_micro_cents,
                    royalty_ad_revenue::period,
                ))
                .first(connection)
                .optional()?;
        let (installer_id, campaign_id, amount_micro_cents, original_period) =
            original.ok_or_else(|| RoyaltyError::UnknownAdEvent(event_id.to_owned()))?;
        let original_period = parse_period(&original_period)?;
        let (kind, installer_id, period) =
            if lock_period_status(connection, original_period)? == PeriodStatus::Open {
                ("clawback", installer_id, original_period)
            } else {
                let after_close = found_at.max(original_period.next().start());
                ("adjustment", None, booking_period(connection, after_close)?)
            };
        let amount = MicroCents(-amount_micro_cents);
        if !insert_ad_revenue(
            connection,
            &clawback_id,
            kind,
            installer_id.clone(),
            campaign_id.as_deref(),
            amount,
            period,
            found_at,
        )? {
            return Ok(Recorded {
                period: ad_revenue_period(connection, &clawback_id)?,
                duplicate: true,
            });
        }
        if let Some(installer_id) = installer_id {
            counters::add_installer_revenue(connection, period, &installer_id, amount)?;
        }
        ledger::post(
            connection,
            Posting {
                idempotency_key: format!("ad-clawback:{event_id}"),
                kind: TransactionKind::AdClawback,
                source_id: event_id.to_owned(),
                period,
                reverses_transaction_id: None,
                booked_at: now(),
                lines: vec![
                    PostingLine {
                        account: Account::Advertisers,
                        amount: MicroCents(amount_micro_cents),
                        source_ref: event_id.to_owned(),
                    },
                    PostingLine {
                        account: Account::AdPending,
                        amount,
                        source_ref: event_id.to_owned(),
                    },
                ],
            },
        )?;
        Ok(Recorded {
            period,
            duplicate: false,
        })
    })
}

fn ad_revenue_period(
    connection: &mut DbConnection,
    source_id: &str,
) -> Result<Period, RoyaltyError> {
    let period: String = royalty_ad_revenue::table
        .find(source_id)
        .select(royalty_ad_revenue::period)
        .first(connection)?;
    parse_period(&period)
}

#[allow(clippy::too_many_arguments)] // One row's columns; a struct would only rename them.
pub(crate) fn insert_ad_revenue(
    connection: &mut DbConnection,
    source_id: &str,
    kind: &str,
    installer_id: Option<String>,
    campaign_id: Option<&str>,
    amount: MicroCents,
    period: Period,
    occurred_at: NaiveDateTime,
) -> Result<bool, RoyaltyError> {
    // The source id's primary key decides between concurrent writers of one event (see `ledger::claim`).
    let inserted = diesel::sql_query(
        "INSERT INTO royalty_ad_revenue (source_id, kind, installer_id, campaign_id, amount_micro_cents, period, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source_id) DO NOTHING",
    )
    .bind::<Text, _>(source_id)
    .bind::<Text, _>(kind)
    .bind::<Nullable<Text>, _>(installer_id)
    .bind::<Nullable<Text>, _>(campaign_id)
    .bind::<BigInt, _>(amount.0)
    .bind::<Text, _>(period.to_string())
    .bind::<Timestamp, _>(occurred_at)
    .execute(connection)?;
    Ok(inserted == 1)
}

/// Records a qualifying play (the store decides what qualifies: ≥ 30 s, caps, not the artist's own).
pub fn record_qualifying_play(
    connection: &mut DbConnection,
    play: &PlayInput,
) -> Result<Recorded, RoyaltyError> {
    check_source_id("play_id", &play.play_id)?;
    record_play_weight(
        connection,
        "play",
        &play.play_id,
        play.listener,
        play.artist,
        Some(play.track),
        1,
        play.occurred_at,
    )
}

/// Records a download paid with a credit; it weighs as `plays_per_redemption` plays.
pub fn record_credit_redemption(
    connection: &mut DbConnection,
    redemption: &RedemptionInput,
    settings: &RoyaltySettings,
) -> Result<Recorded, RoyaltyError> {
    check_source_id("redemption_id", &redemption.redemption_id)?;
    if settings.plays_per_redemption == 0 {
        return Err(RoyaltyError::InvalidInput(
            "a redemption must count as at least one play".to_owned(),
        ));
    }
    let weight = i64::from(settings.plays_per_redemption);
    record_play_weight(
        connection,
        "redemption",
        &redemption.redemption_id,
        redemption.listener,
        redemption.artist,
        None,
        weight,
        redemption.occurred_at,
    )
}

#[allow(clippy::too_many_arguments)] // One row's columns; a struct would only rename them.
fn record_play_weight(
    connection: &mut DbConnection,
    kind: &str,
    source_id: &str,
    listener: UserId,
    artist: ArtistId,
    track: Option<TrackId>,
    weight: i64,
    occurred_at: NaiveDateTime,
) -> Result<Recorded, RoyaltyError> {
    write_transaction(connection, |connection| {
        let period = booking_period(connection, occurred_at)?;
        // The primary key decides between concurrent writers of one play (see `ledger::claim`).
        let inserted = diesel::sql_query(
            "INSERT INTO royalty_plays (kind, source_id, listener_id, artist_id, track_id, weight, period, occurred_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, source_id) DO NOTHING",
        )
        .bind::<Text, _>(kind)
        .bind::<Text, _>(source_id)
        .bind::<Text, _>(listener.to_string())
        .bind::<Text, _>(artist.to_string())
        .bind::<Nullable<Text>, _>(track.map(|track| track.to_string()))
        .bind::<BigInt, _>(weight)
        .bind::<Text, _>(period.to_string())
        .bind::<Timestamp, _>(occurred_at)
        .execute(connection)?;
        if inserted != 1 {
            let period: String = royalty_plays::table
                .find((kind, source_id))
                .select(royalty_plays::period)
                .first(connection)?;
            return Ok(Recorded {
                period: parse_period(&period)?,
                duplicate: true,
            });
        }
        counters::add_play(connection, period, listener, artist, weight)?;
        Ok(Recorded {
            period,
            duplicate: false,
        })
    })
}
