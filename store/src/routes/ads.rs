//! The agent's side of the ads system and its operator pages: pairing codes and devices,
//! creatives for a slot size, signed impression intake, the installer's rewards, campaigns and
//! invalid-traffic flags. The wire format of pairing, creatives and impression batches is
//! `megabox-protocol`'s, shared with `megabox-agent`.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use megabox_ads::{
    AdvertiserId, CampaignId, CampaignStatus, FlagKind, FreeTierReason, NewCampaign,
};
use megabox_domain::{Cents, TrackId, UserId};
use megabox_protocol::{
    CreativeId, DeviceId, DeviceRegistered, DeviceRegistration, ImpressionBatch, SlotSize,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::parse_id;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::state::AppState;

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn client_ip(request: &HttpRequest) -> std::net::IpAddr {
    crate::client_address::of(request)
}

#[derive(Serialize, ToSchema)]
pub struct PairingCodeView {
    /// Type this into `megabox-agent pair CODE`.
    pub code: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A short-lived, one-time code that pairs an agent with the caller's account.
#[utoipa::path(tag = "agent", security(("bearer" = [])), responses((status = 201, body = PairingCodeView), (status = 429, body = crate::error::ErrorBody)))]
#[post("/devices/pairing-codes")]
pub async fn create_pairing_code(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<HttpResponse, ApiError> {
    let settings = state.ads_settings.clone();
    let issued = state
        .write(move |connection| {
            Ok(megabox_ads::create_pairing_code(
                connection,
                user.user_id,
                now(),
                &settings,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(PairingCodeView {
        code: issued.code,
        expires_at: super::time::utc(issued.expires_at),
    }))
}

/// The agent registers its Ed25519 public key with a pairing code (`megabox-protocol`'s
/// `DeviceRegistration`, answered with `DeviceRegistered`).
#[utoipa::path(tag = "agent", request_body(content = Object, description = "`{code, public_key}` (megabox-protocol DeviceRegistration)"),
    responses((status = 201, description = "`{device_id}`"), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 410, description = "expired code", body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
#[post("/devices")]
pub async fn pair_device(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<DeviceRegistration>,
) -> Result<HttpResponse, ApiError> {
    // Codes are short: guessing is limited per address.
    state
        .rate_limit(&state.limits.pairing, &client_ip(&request).to_string())
        .await?;
    let registration = body.into_inner();
    let device = state
        .write(move |connection| {
            Ok(megabox_ads::pair_device(
                connection,
                &registration.code,
                &registration.public_key,
                now(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(DeviceRegistered {
        device_id: device.id,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    pub id: String,
    pub paired_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_batch_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<megabox_ads::Device> for DeviceView {
    fn from(device: megabox_ads::Device) -> Self {
        DeviceView {
            id: device.id.0.to_string(),
            paired_at: super::time::utc(device.paired_at),
            revoked_at: device.revoked_at.map(super::time::utc),
            last_batch_at: device.last_batch_at.map(super::time::utc),
        }
    }
}

/// The caller's paired agents.
#[utoipa::path(tag = "agent", security(("bearer" = [])), responses((status = 200, body = Vec<DeviceView>)))]
#[get("/devices")]
pub async fn list_devices(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<DeviceView>>, ApiError> {
    let devices = state
        .database(move |connection| Ok(megabox_ads::list_devices(connection, user.user_id)?))
        .await?;
    Ok(web::Json(
        devices.into_iter().map(DeviceView::from).collect(),
    ))
}

/// Revoke one of the caller's agents: its reports are refused from now on.
#[utoipa::path(tag = "agent", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = DeviceView), (status = 404, body = crate::error::ErrorBody)))]
#[delete("/devices/{id}")]
pub async fn revoke_device(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
) -> Result<web::Json<DeviceView>, ApiError> {
    let device = DeviceId(parse_id(&path, "device")?);
    let revoked = state
        .write(move |connection| {
            Ok(megabox_ads::revoke_device(
                connection,
                user.user_id,
                device,
                now(),
            )?)
        })
        .await?;
    Ok(web::Json(revoked.into()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CreativesQuery {
    /// An IAB size such as `300x250`.
    pub size: String,
}

/// Creatives the agent may show in a slot of this size, weighted by CPM and paced so budgets
/// last their flight (`megabox-protocol`'s `CreativeList`).
#[utoipa::path(tag = "agent", params(CreativesQuery), responses((status = 200, description = "`{creatives: [...]}`"), (status = 422, body = crate::error::ErrorBody)))]
#[get("/ads/creatives")]
pub async fn creatives(
    state: web::Data<AppState>,
    query: web::Query<CreativesQuery>,
) -> Result<HttpResponse, ApiError> {
    let size: SlotSize = query
        .size
        .parse()
        .map_err(|_| ApiError::invalid("invalid_size", "size must look like 300x250"))?;
    let settings = state.ads_settings.clone();
    let offers = state
        .database(move |connection| {
            Ok(megabox_ads::eligible_creatives(
                connection,
                size,
                now(),
                &mut rand::rng(),
                &settings,
            )?)
        })
        .await?;
    let creatives: Vec<_> = offers
        .iter()
        .map(megabox_ads::CreativeOffer::to_protocol)
        .collect();
    Ok(HttpResponse::Ok().json(megabox_protocol::CreativeList { creatives }))
}

/// How long browsers and caches may keep a creative image: a creative's image never changes
/// (a new picture is a new creative with a new id), so a year, the longest RFC 9111 advises.
const CREATIVE_IMAGE_CACHE_SECONDS: u32 = 365 * 24 * 3600;

/// The picture of a creative, for the agent's ad frame (the path `megabox-protocol`'s
/// `Creative::image_url` names). Public like the creative list; 404 for an unknown id.
#[utoipa::path(tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "the image (PNG, JPEG or GIF)", content_type = "image/*"), (status = 404, body = crate::error::ErrorBody)))]
#[get("/ads/creatives/{id}/image")]
pub async fn creative_image(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let creative =
        CreativeId::parse(&path).map_err(|_| ApiError::not_found("creative not found"))?;
    let image = state
        .database(move |connection| Ok(megabox_ads::creative_image(connection, &creative)?))
        .await?;
    // The key was made by `validate_creative_image` (`creatives/<uuid>.<ext>`), never from input.
    let file = actix_files::NamedFile::open_async(state.settings.data_dir.join(&image.key))
        .await
        .map_err(ApiError::internal)?;
    let content_type = image.content_type.parse().map_err(ApiError::internal)?;
    let mut response = file
        .set_content_type(content_type)
        .use_etag(true)
        .use_last_modified(true)
        .into_response(&request);
    let headers = response.headers_mut();
    headers.insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_str(&format!(
            "public, max-age={CREATIVE_IMAGE_CACHE_SECONDS}, immutable"
        ))
        .map_err(ApiError::internal)?,
    );
    headers.insert(
        actix_web::http::header::X_CONTENT_TYPE_OPTIONS,
        actix_web::http::header::HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// A batch of viewable impressions signed by the agent's device key. Every event is answered,
/// accepted or rejected with its reason; a resent batch gets the same answer and has no second
/// effect.
#[utoipa::path(tag = "agent", request_body(content = Object, description = "megabox-protocol ImpressionBatch"),
    responses((status = 200, description = "`{accepted, rejected}` (megabox-protocol BatchResponse)"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
#[post("/impressions")]
pub async fn receive_impressions(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<ImpressionBatch>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&request);
    state
        .rate_limit(&state.limits.impressions, &ip.to_string())
        .await?;
    let batch = body.into_inner();
    let settings = state.ads_settings.clone();
    let deduper = state.impression_deduper.clone();
    let receipt = state
        .database(move |connection| {
            let deduper: Option<&dyn megabox_ads::Deduper> = match deduper.as_deref() {
                Some(redis) => Some(redis),
                None => None,
            };
            Ok(megabox_ads::intake_batch(
                connection,
                &batch,
                ip,
                now(),
                &settings,
                deduper,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(receipt.to_protocol()))
}

#[derive(Serialize, ToSchema)]
pub struct FreeTierView {
    /// Full streams are free for this account now.
    pub active: bool,
    /// Why: an operator switched it on, or the account's agents reported enough this week;
    /// absent when not active.
    pub reason: Option<FreeTierReasonView>,
}

wire_enum!(
    /// Why an account streams for free.
    FreeTierReasonView mirrors FreeTierReason { Operator, AgentActive }
);

wire_enum!(
    /// Where a campaign is in its life; `ended` is final.
    CampaignStatusView mirrors CampaignStatus { Active, Paused, Ended }
);

wire_enum!(
    /// What was flagged: one agent device, or a whole account.
    FlagKindView mirrors FlagKind { Device, Account }
);

#[derive(Serialize, ToSchema)]
pub struct InstallerStatusView {
    /// The free streaming tier, decided exactly as the stream check decides it.
    pub free_tier: FreeTierView,
    /// The account's agents reported enough accepted impressions in the last 7 days.
    pub agent_active: bool,
    pub accepted_impressions_7d: i64,
    pub impressions_today: i64,
    pub credits_available: i64,
    pub credits_earned: i64,
}

/// The caller's agent rewards: free-tier status and why, impressions and download credits.
#[utoipa::path(tag = "agent", security(("bearer" = [])), responses((status = 200, body = InstallerStatusView)))]
#[get("/installer/status")]
pub async fn installer_status(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<InstallerStatusView>, ApiError> {
    let settings = state.ads_settings.clone();
    let status = state
        .database(move |connection| {
            let operator_granted = crate::storefront::entitlements::operator_granted_free_tier(
                connection,
                user.user_id,
            )?;
            Ok(megabox_ads::installer_status(
                connection,
                user.user_id,
                operator_granted,
                now(),
                &settings,
            )?)
        })
        .await?;
    Ok(web::Json(InstallerStatusView {
        free_tier: FreeTierView {
            active: status.free_tier.is_some(),
            reason: status.free_tier.map(FreeTierReasonView::from),
        },
        agent_active: status.agent_active,
        accepted_impressions_7d: status.accepted_impressions_7d,
        impressions_today: status.impressions_today,
        credits_available: status.credits_available,
        credits_earned: status.credits_earned,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionRequest {
    /// A published track the caller does not own yet.
    pub track_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct RedemptionView {
    pub redemption_id: String,
    pub track_id: String,
    /// Credits left after this one.
    pub credits_available: i64,
}

/// Spends one of the caller's download credits on a track: the credit, the download
/// entitlement (the track then appears in `GET /library` and downloads like a bought one) and
/// the royalty record (the track's artist is credited as for several plays) are written in one
/// transaction, so a crash leaves all of it or none. Redeeming a track the caller already owns,
/// bought or redeemed, is refused with 409 `already_owned` and spends nothing: a retried request
/// therefore cannot spend a second credit.
fn redeem(
    connection: &mut megabox_database::DbConnection,
    user: UserId,
    track: TrackId,
    ads_settings: &megabox_ads::AdsSettings,
    royalty_settings: &royalties::RoyaltySettings,
) -> Result<RedemptionView, ApiError> {
    megabox_database::write_transaction(connection, |connection| {
        // Unknown and unpublished tracks are both 404 (`track_media` shows listeners published ones).
        let media = catalog::tracks::track_media(connection, track, None)?;
        if catalog::artists::artist_of_user(connection, user)?
            .is_some_and(|artist| artist.id == media.artist_id)
        {
            return Err(ApiError::conflict(
                "own_track",
                "a credit cannot be spent on your own music",
            ));
        }
        // Checked first for a clear answer; the grant's key below decides between concurrent requests.
        if megabox_payments::owns_track(connection, user, track)? {
            return Err(megabox_payments::PaymentsError::AlreadyOwned(
                megabox_payments::Item::Track(track),
            )
            .into());
        }
        let now = now();
        let redemption = megabox_ads::redeem_credit(
            connection,
            user,
            track,
            media.artist_id,
            now,
            ads_settings,
            royalty_settings,
        )?;
        megabox_payments::grant_for_credit(
            connection,
            user,
            track,
            &redemption.redemption_id,
            now,
        )?;
        Ok(RedemptionView {
            redemption_id: redemption.redemption_id,
            track_id: track.to_string(),
            credits_available: redemption.credits_available,
        })
    })
}

/// Spend one download credit on a track (see `redeem`): 201 with the credits left; 409
/// `no_credits` without a credit, 409 `already_owned` for a track the caller owns, 409
/// `own_track` for the caller's own music, 404 for an unknown or unpublished track.
#[utoipa::path(tag = "agent", security(("bearer" = [])), request_body = RedemptionRequest,
    responses((status = 201, body = RedemptionView), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/installer/redemptions")]
pub async fn redeem_credit(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    body: web::Json<RedemptionRequest>,
) -> Result<HttpResponse, ApiError> {
    let track: TrackId = parse_id(&body.track_id, "track")?;
    let ads_settings = state.ads_settings.clone();
    let royalty_settings = state
        .settings
        .royalty_settings()
        .map_err(ApiError::internal)?;
    let view = state
        .database(move |connection| {
            redeem(
                connection,
                user.user_id,
                track,
                &ads_settings,
                &royalty_settings,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Serialize, ToSchema)]
pub struct RedemptionRecordView {
    pub redemption_id: String,
    pub track_id: String,
    pub redeemed_at: chrono::DateTime<chrono::Utc>,
}

/// The caller's spent credits, newest first.
#[utoipa::path(tag = "agent", security(("bearer" = [])), responses((status = 200, body = Vec<RedemptionRecordView>)))]
#[get("/installer/redemptions")]
pub async fn list_redemptions(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<RedemptionRecordView>>, ApiError> {
    let redemptions = state
        .database(move |connection| Ok(megabox_ads::list_redemptions(connection, user.user_id)?))
        .await?;
    Ok(web::Json(
        redemptions
            .into_iter()
            .map(|record| RedemptionRecordView {
                redemption_id: record.redemption_id,
                track_id: record.track.to_string(),
                redeemed_at: super::time::utc(record.redeemed_at),
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdvertiserRequest {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct AdvertiserView {
    pub id: String,
    pub name: String,
}

/// Operator: register an advertiser.
#[utoipa::path(tag = "operations", security(("bearer" = [])), request_body = NewAdvertiserRequest, responses((status = 201, body = AdvertiserView), (status = 403, body = crate::error::ErrorBody)))]
#[post("/admin/advertisers")]
pub async fn create_advertiser(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    body: web::Json<NewAdvertiserRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require_admin()?;
    let name = body.into_inner().name;
    let advertiser = state
        .write(move |connection| Ok(megabox_ads::create_advertiser(connection, &name, now())?))
        .await?;
    Ok(HttpResponse::Created().json(AdvertiserView {
        id: advertiser.id.to_string(),
        name: advertiser.name,
    }))
}

/// Operator: every advertiser.
#[utoipa::path(tag = "operations", security(("bearer" = [])), responses((status = 200, body = Vec<AdvertiserView>), (status = 403, body = crate::error::ErrorBody)))]
#[get("/admin/advertisers")]
pub async fn list_advertisers(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<AdvertiserView>>, ApiError> {
    user.require_admin()?;
    let advertisers = state
        .database(|connection| Ok(megabox_ads::list_advertisers(connection)?))
        .await?;
    Ok(web::Json(
        advertisers
            .into_iter()
            .map(|advertiser| AdvertiserView {
                id: advertiser.id.to_string(),
                name: advertiser.name,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaignRequest {
    pub advertiser_id: String,
    pub name: String,
    pub cpm_cents: i64,
    pub budget_cents: i64,
    /// RFC 3339 with an offset.
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: String,
    /// RFC 3339 with an offset.
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub advertiser_id: String,
    pub name: String,
    pub cpm_cents: i64,
    pub budget_cents: i64,
    /// Charged so far, in millionths of a cent.
    pub spent_micro_cents: i64,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
    pub status: CampaignStatusView,
}

impl From<megabox_ads::Campaign> for CampaignView {
    fn from(campaign: megabox_ads::Campaign) -> Self {
        CampaignView {
            id: campaign.id.to_string(),
            advertiser_id: campaign.advertiser.to_string(),
            name: campaign.name,
            cpm_cents: campaign.cpm.0,
            budget_cents: campaign.budget.0,
            spent_micro_cents: campaign.spent.0,
            starts_at: super::time::utc(campaign.starts_at),
            ends_at: super::time::utc(campaign.ends_at),
            status: campaign.status.into(),
        }
    }
}

/// Operator: start a campaign (CPM and budget in cents, a flight from start to end).
#[utoipa::path(tag = "operations", security(("bearer" = [])), request_body = NewCampaignRequest,
    responses((status = 201, body = CampaignView), (status = 403, body = crate::error::ErrorBody), (status = 404, description = "no such advertiser", body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/admin/campaigns")]
pub async fn create_campaign(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    body: web::Json<NewCampaignRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require_admin()?;
    let request = body.into_inner();
    let advertiser: AdvertiserId = parse_id(&request.advertiser_id, "advertiser")?;
    let campaign = NewCampaign {
        advertiser,
        name: request.name,
        cpm: Cents(request.cpm_cents),
        budget: Cents(request.budget_cents),
        starts_at: super::time::parse("starts_at", &request.starts_at)?,
        ends_at: super::time::parse("ends_at", &request.ends_at)?,
    };
    let created = state
        .write(move |connection| Ok(megabox_ads::create_campaign(connection, &campaign, now())?))
        .await?;
    Ok(HttpResponse::Created().json(CampaignView::from(created)))
}

/// Operator: every campaign.
#[utoipa::path(tag = "operations", security(("bearer" = [])), responses((status = 200, body = Vec<CampaignView>), (status = 403, body = crate::error::ErrorBody)))]
#[get("/admin/campaigns")]
pub async fn list_campaigns(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<CampaignView>>, ApiError> {
    user.require_admin()?;
    let campaigns = state
        .database(|connection| Ok(megabox_ads::list_campaigns(connection)?))
        .await?;
    Ok(web::Json(
        campaigns.into_iter().map(CampaignView::from).collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignStatusRequest {
    pub status: CampaignStatusView,
}

/// Operator: pause, resume or end a campaign.
#[utoipa::path(tag = "operations", security(("bearer" = [])), params(("id" = String, Path)), request_body = CampaignStatusRequest,
    responses((status = 200, body = CampaignView), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
#[put("/admin/campaigns/{id}/status")]
pub async fn set_campaign_status(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    body: web::Json<CampaignStatusRequest>,
) -> Result<web::Json<CampaignView>, ApiError> {
    user.require_admin()?;
    let campaign: CampaignId = parse_id(&path, "campaign")?;
    let status = CampaignStatus::from(body.status);
    let updated = state
        .write(move |connection| {
            Ok(megabox_ads::update_campaign_status(
                connection, campaign, status,
            )?)
        })
        .await?;
    Ok(web::Json(updated.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagRequest {
    /// A device id, or…
    pub device_id: Option<String>,
    /// …an account id.
    pub user_id: Option<String>,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct FlagView {
    pub kind: FlagKindView,
    pub subject_id: String,
    pub reason: String,
    pub flagged_at: chrono::DateTime<chrono::Utc>,
    /// Ad revenue of the flagged party clawed back so far, in millionths of a cent.
    pub clawed_back_micro_cents: i64,
}

impl From<megabox_ads::Flag> for FlagView {
    fn from(flag: megabox_ads::Flag) -> Self {
        FlagView {
            kind: flag.kind.into(),
            subject_id: flag.subject_id,
            reason: flag.reason,
            flagged_at: super::time::utc(flag.flagged_at),
            clawed_back_micro_cents: flag.clawed_back.0,
        }
    }
}

/// Operator: flag a device or an account for invalid traffic; its reports are refused and its
/// pending ad revenue clawed back.
#[utoipa::path(tag = "operations", security(("bearer" = [])), request_body = FlagRequest,
    responses((status = 201, body = FlagView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/admin/flags")]
pub async fn create_flag(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    body: web::Json<FlagRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require_admin()?;
    let FlagRequest {
        device_id,
        user_id,
        reason,
    } = body.into_inner();
    let flag = match (device_id, user_id) {
        (Some(device), None) => {
            let device = DeviceId(parse_id(&device, "device")?);
            state
                .database(move |connection| {
                    Ok(megabox_ads::flag_device(
                        connection,
                        device,
                        &reason,
                        now(),
                    )?)
                })
                .await?
        }
        (None, Some(account)) => {
            let account: UserId = parse_id(&account, "user")?;
            // The operator's free-tier switch ends with the flag, in its transaction.
            let flag = state
                .write(move |connection| {
                    let flag = megabox_ads::flag_account(connection, account, &reason, now())?;
                    crate::accounts::set_agent_active(connection, account, false)?;
                    Ok(flag)
                })
                .await?;
            state.stream_grants.forget_all();
            flag
        }
        _ => {
            return Err(ApiError::invalid(
                "invalid_input",
                "name exactly one of device_id and user_id",
            ));
        }
    };
    tracing::info!(operator.id = %user.user_id, flag.subject = %flag.subject_id, "invalid traffic flagged");
    Ok(HttpResponse::Created().json(FlagView::from(flag)))
}

/// Operator: every flag.
#[utoipa::path(tag = "operations", security(("bearer" = [])), responses((status = 200, body = Vec<FlagView>), (status = 403, body = crate::error::ErrorBody)))]
#[get("/admin/flags")]
pub async fn list_flags(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<FlagView>>, ApiError> {
    user.require_admin()?;
    let flags = state
        .database(|connection| Ok(megabox_ads::flagged(connection)?))
        .await?;
    Ok(web::Json(flags.into_iter().map(FlagView::from).collect()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NewCreativeQuery {
    /// An IAB size such as `300x250`; the image must be exactly that size.
    pub size: String,
    pub headline: String,
    pub body: String,
    /// Where a click goes; https only.
    pub link_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreativeView {
    pub id: String,
    pub campaign_id: String,
    pub size: String,
    pub headline: String,
    pub body: String,
    pub link_url: String,
    pub image_content_type: String,
    pub image_bytes: i64,
}

impl From<megabox_ads::CreativeRecord> for CreativeView {
    fn from(creative: megabox_ads::CreativeRecord) -> Self {
        CreativeView {
            id: creative.id.to_string(),
            campaign_id: creative.campaign.to_string(),
            size: creative.size.to_string(),
            headline: creative.headline,
            body: creative.body,
            link_url: creative.link_url,
            image_content_type: creative.image_content_type,
            image_bytes: creative.image_bytes,
        }
    }
}

/// Operator: the creatives of a campaign, oldest first. Their images are at
/// `GET /api/v1/ads/creatives/{id}/image`.
#[utoipa::path(tag = "operations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<CreativeView>), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[get("/admin/campaigns/{id}/creatives")]
pub async fn list_campaign_creatives(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
) -> Result<web::Json<Vec<CreativeView>>, ApiError> {
    user.require_admin()?;
    let campaign: CampaignId = parse_id(&path, "campaign")?;
    let records = state
        .database(move |connection| Ok(megabox_ads::list_creatives(connection, campaign)?))
        .await?;
    Ok(web::Json(
        records.into_iter().map(CreativeView::from).collect(),
    ))
}

/// Operator: add a creative to a campaign: the image (multipart `file`: PNG, JPEG or GIF of
/// exactly the slot size) and its texts. The image is checked by decoding it, and stored under a
/// key the server makes.
#[utoipa::path(tag = "operations", security(("bearer" = [])), params(("id" = String, Path), NewCreativeQuery),
    request_body(content_type = "multipart/form-data", description = "one part named `file`"),
    responses((status = 201, body = CreativeView), (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/admin/campaigns/{id}/creatives")]
pub async fn create_creative(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    query: web::Query<NewCreativeQuery>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, ApiError> {
    user.require_admin()?;
    let campaign: CampaignId = parse_id(&path, "campaign")?;
    let size: SlotSize = query
        .size
        .parse()
        .map_err(|_| ApiError::invalid("invalid_size", "size must look like 300x250"))?;
    let limit = u64::try_from(megabox_ads::CREATIVE_IMAGE_BYTES_MAX).unwrap_or(u64::MAX);
    let received =
        crate::uploads::receive_file(payload, &state.settings.upload_dir(), limit).await?;
    let bytes = tokio::fs::read(&received.file)
        .await
        .map_err(ApiError::internal)?;
    let image = web::block(move || megabox_ads::validate_creative_image(bytes, size))
        .await
        .map_err(ApiError::internal)??;
    let image_path = state.settings.data_dir.join(image.key());
    crate::files::write_private_file(&image_path, image.bytes()).map_err(ApiError::internal)?;
    let NewCreativeQuery {
        headline,
        body,
        link_url,
        ..
    } = query.into_inner();
    let creative = megabox_ads::NewCreative {
        campaign,
        headline,
        body,
        link_url,
    };
    let created = state
        .write(move |connection| {
            Ok(megabox_ads::create_creative(
                connection,
                &creative,
                &image,
                size,
                now(),
            )?)
        })
        .await;
    if created.is_err() {
        // Nothing half-written: the rows were refused, so the image goes too.
        let _ = std::fs::remove_file(&image_path);
    }
    Ok(HttpResponse::Created().json(CreativeView::from(created?)))
}
