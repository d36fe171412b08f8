//! Money for artists and operators: earnings per period, statements (JSON or CSV) whose lines
//! add up to the balance, payout history, and the operator's period close and ledger check.
//! Every artist call reads only the caller's own records.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use megabox_domain::{ArtistId, ReleaseId, TrackId};
use royalties::{
    AllocationModel, PayoutStatus, Period, PeriodEarnings, Statement, TransactionKind,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::releases::acting_artist;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::state::AppState;

fn parse_period(text: &str) -> Result<Period, ApiError> {
    text.parse().map_err(|error: royalties::PeriodParseError| {
        ApiError::invalid("invalid_period", error.to_string())
    })
}

#[derive(Serialize, ToSchema)]
pub struct PeriodEarningsView {
    /// `YYYY-MM`.
    pub period: String,
    pub sales_cents: i64,
    /// Negative: what refunds took back.
    pub refunds_cents: i64,
    pub ad_shares_cents: i64,
    /// Negative: what was paid out.
    pub payouts_cents: i64,
    pub plays: i64,
}

impl From<PeriodEarnings> for PeriodEarningsView {
    fn from(earnings: PeriodEarnings) -> Self {
        PeriodEarningsView {
            period: earnings.period.to_string(),
            sales_cents: earnings.sales.0,
            refunds_cents: earnings.refunds.0,
            ad_shares_cents: earnings.ad_shares.0,
            payouts_cents: earnings.payouts.0,
            plays: earnings.plays,
        }
    }
}

/// The caller's earnings per period, sales against ad shares, for the dashboard chart.
#[utoipa::path(tag = "money", security(("bearer" = [])), responses((status = 200, body = Vec<PeriodEarningsView>), (status = 403, body = crate::error::ErrorBody)))]
#[get("/artist/earnings")]
pub async fn artist_earnings(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<PeriodEarningsView>>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let periods = state
        .database(move |connection| Ok(royalties::earnings(connection, artist)?))
        .await?;
    Ok(web::Json(
        periods.into_iter().map(PeriodEarningsView::from).collect(),
    ))
}

wire_enum!(
    /// What kind of ledger entry a statement line is.
    TransactionKindView mirrors TransactionKind {
        Sale,
        Refund,
        AdRevenue,
        AdClawback,
        PeriodPool,
        AdAllocation,
        Payout,
        PayoutPosted,
        PayoutVoided,
        DebtRecovery,
    }
);

wire_enum!(
    /// Where a payout stands; `posted` and `voided` are final.
    PayoutStatusView mirrors PayoutStatus { Pending, Posted, Voided }
);

wire_enum!(
    /// How a period's ad pool was weighted among artists.
    AllocationModelView mirrors AllocationModel { UserCentric, ProRata }
);

#[derive(Serialize, ToSchema)]
pub struct StatementLineView {
    pub booked_at: chrono::DateTime<chrono::Utc>,
    pub kind: TransactionKindView,
    /// The sale, refund, period or payout the line comes from.
    pub source_id: String,
    pub source_ref: String,
    /// The title of the release or track a sale or refund is for (`source_ref` names it by id);
    /// absent for other lines, and for an item whose title is gone.
    pub title: Option<String>,
    pub amount_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StatementView {
    pub period: String,
    pub opening_balance_cents: i64,
    pub lines: Vec<StatementLineView>,
    /// Opening balance plus every line.
    pub closing_balance_cents: i64,
}

impl StatementView {
    /// The statement with each sale's and refund's item named by `titles` (id → title).
    fn new(statement: Statement, titles: &HashMap<String, String>) -> Self {
        StatementView {
            period: statement.period.to_string(),
            opening_balance_cents: statement.opening_balance.0,
            lines: statement
                .lines
                .into_iter()
                .map(|line| StatementLineView {
                    booked_at: super::time::utc(line.booked_at),
                    kind: line.kind.into(),
                    title: item_of_ref(&line.source_ref)
                        .and_then(|(_, id)| titles.get(id).cloned()),
                    source_id: line.source_id,
                    source_ref: line.source_ref,
                    amount_cents: line.amount.0,
                })
                .collect(),
            closing_balance_cents: statement.closing_balance.0,
        }
    }
}

/// The item of a sale's or refund's `source_ref` (`release:{id}` or `track:{id}`, as payments
/// writes it), split into its kind and id; `None` for refs of other lines.
fn item_of_ref(source_ref: &str) -> Option<(&str, &str)> {
    let (kind, id) = source_ref.split_once(':')?;
    matches!(kind, "release" | "track").then_some((kind, id))
}

/// The titles of the statement's items, from the artist's own catalog.
fn statement_titles(
    connection: &mut megabox_database::DbConnection,
    artist: ArtistId,
    statement: &Statement,
) -> Result<HashMap<String, String>, ApiError> {
    let mut releases = Vec::new();
    let mut tracks = Vec::new();
    for line in &statement.lines {
        match item_of_ref(&line.source_ref) {
            Some(("release", id)) => releases.extend(id.parse::<ReleaseId>().ok()),
            Some((_, id)) => tracks.extend(id.parse::<TrackId>().ok()),
            None => {}
        }
    }
    releases.sort_unstable();
    releases.dedup();
    tracks.sort_unstable();
    tracks.dedup();
    Ok(catalog::releases::titles_for_owner(
        connection, artist, &releases, &tracks,
    )?)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    /// `json` (default) or `csv`; `Accept: text/csv` works too.
    pub format: Option<String>,
}

/// The caller's statement for a period (`YYYY-MM`), as JSON or CSV.
#[utoipa::path(tag = "money", security(("bearer" = [])), params(("period" = String, Path), StatementQuery),
    responses((status = 200, description = "the statement, as JSON or (with `format=csv` or `Accept: text/csv`) CSV", content(
        (StatementView = "application/json"),
        (String = "text/csv"),
    )), (status = 422, body = crate::error::ErrorBody)))]
#[get("/artist/statements/{period}")]
pub async fn artist_statement(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    request: HttpRequest,
    path: web::Path<String>,
    query: web::Query<StatementQuery>,
) -> Result<HttpResponse, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let period = parse_period(&path)?;
    let wants_csv = match query.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::invalid(
                "invalid_format",
                format!("format must be json or csv, not {other:?}"),
            ));
        }
        None => request
            .headers()
            .get("accept")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv")),
    };
    let (statement, titles) = state
        .database(move |connection| {
            let statement = royalties::statement(connection, artist, period)?;
            let titles = statement_titles(connection, artist, &statement)?;
            Ok((statement, titles))
        })
        .await?;
    if wants_csv {
        let mut csv = Vec::new();
        royalties::write_statement_csv(&statement, &mut csv).map_err(ApiError::internal)?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"megabox-statement-{period}.csv\""),
            ))
            .body(csv));
    }
    Ok(HttpResponse::Ok().json(StatementView::new(statement, &titles)))
}

#[derive(Serialize, ToSchema)]
pub struct PayoutView {
    pub id: String,
    pub amount_cents: i64,
    pub status: PayoutStatusView,
    pub attempts: i64,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<royalties::PayoutRecord> for PayoutView {
    fn from(payout: royalties::PayoutRecord) -> Self {
        PayoutView {
            id: payout.id,
            amount_cents: payout.amount.0,
            status: payout.status.into(),
            attempts: payout.attempts,
            last_error: payout.last_error,
            created_at: super::time::utc(payout.created_at),
            updated_at: super::time::utc(payout.updated_at),
        }
    }
}

/// The caller's payouts, newest first.
#[utoipa::path(tag = "money", security(("bearer" = [])), responses((status = 200, body = Vec<PayoutView>)))]
#[get("/artist/payouts")]
pub async fn artist_payouts(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<PayoutView>>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let list = state
        .database(move |connection| Ok(royalties::list_payouts(connection, Some(artist))?))
        .await?;
    Ok(web::Json(list.into_iter().map(PayoutView::from).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct PeriodCloseView {
    pub period: String,
    pub model: AllocationModelView,
    pub ad_revenue_micro_cents: i64,
    pub pool_cents: i64,
    pub artists_total_cents: i64,
    pub platform_cents: i64,
    /// Micro-cents below a cent, carried into the next period.
    pub carried_micro_cents: i64,
    pub artists_allocated: usize,
    /// True when the period had been closed before: nothing changed.
    pub already_closed: bool,
}

impl From<royalties::PeriodClose> for PeriodCloseView {
    fn from(close: royalties::PeriodClose) -> Self {
        PeriodCloseView {
            period: close.period.to_string(),
            model: close.model.into(),
            ad_revenue_micro_cents: close.ad_revenue.0,
            pool_cents: close.pool.0,
            artists_total_cents: close.artists_total.0,
            platform_cents: close.platform.0,
            carried_micro_cents: close.carried.0,
            artists_allocated: close.artists_allocated,
            already_closed: close.already_closed,
        }
    }
}

/// Close a period: allocate its ad revenue to artists. Idempotent; later events go to the next period.
#[utoipa::path(tag = "operations", security(("bearer" = [])), params(("period" = String, Path)),
    responses((status = 200, body = PeriodCloseView), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/admin/periods/{period}/close")]
pub async fn admin_close_period(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
) -> Result<web::Json<PeriodCloseView>, ApiError> {
    user.require_admin()?;
    let period = parse_period(&path)?;
    let model = state.settings.ad_allocation_model;
    let settings = state
        .settings
        .royalty_settings()
        .map_err(ApiError::internal)?;
    let closed = state
        .database(move |connection| close_period(connection, period, model, &settings))
        .await?;
    tracing::info!(period = %period, operator.id = %user.user_id, "period closed");
    Ok(web::Json(closed.into()))
}

/// Closes `period` after handing royalties any ad revenue or redemption still waiting in the ads
/// tables (after a crash), so nothing that happened in the period misses its close. The API and
/// `megabox periods close` both close through here.
pub fn close_period(
    connection: &mut megabox_database::DbConnection,
    period: royalties::Period,
    model: royalties::AllocationModel,
    settings: &royalties::RoyaltySettings,
) -> Result<royalties::PeriodClose, ApiError> {
    megabox_ads::settle_royalties(connection, chrono::Utc::now().naive_utc(), settings)?;
    Ok(royalties::close_period(
        connection, period, model, settings,
    )?)
}

#[derive(Serialize, ToSchema)]
pub struct LedgerVerificationView {
    pub ok: bool,
    /// The first broken invariant, precisely, when not ok.
    pub violation: Option<String>,
    pub transactions: i64,
    pub lines: i64,
    pub accounts: i64,
    pub artist_periods: usize,
    pub closed_periods: usize,
}

/// Check every ledger invariant: balanced transactions, no negative internal account, artists'
/// 90% shares per period, nothing paid out beyond what was earned.
#[utoipa::path(tag = "operations", security(("bearer" = [])), responses((status = 200, body = LedgerVerificationView), (status = 403, body = crate::error::ErrorBody)))]
#[get("/admin/ledger/verify")]
pub async fn verify_ledger(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<LedgerVerificationView>, ApiError> {
    user.require_admin()?;
    state.database(verification).await.map(web::Json)
}

/// The outcome of `royalties::verify`, shared by the HTTP endpoint and `megabox ledger verify`.
pub fn verification(
    connection: &mut megabox_database::DbConnection,
) -> Result<LedgerVerificationView, ApiError> {
    match royalties::verify(connection) {
        Ok(report) => Ok(LedgerVerificationView {
            ok: true,
            violation: None,
            transactions: report.transactions,
            lines: report.lines,
            accounts: report.accounts,
            artist_periods: report.artist_periods,
            closed_periods: report.closed_periods,
        }),
        Err(royalties::VerifyError::Violation(violation)) => Ok(LedgerVerificationView {
            ok: false,
            violation: Some(violation.to_string()),
            transactions: 0,
            lines: 0,
            accounts: 0,
            artist_periods: 0,
            closed_periods: 0,
        }),
        Err(royalties::VerifyError::Royalty(error)) => Err(error.into()),
    }
}
