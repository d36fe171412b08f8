-- Ads: advertisers, campaigns and creatives, paired agent devices, impression intake, installer
-- credits and invalid-traffic flags, owned by the ads crate (ads/src/schema.rs).
-- Money is BIGINT: prices and budgets in cents, what a campaign has spent in micro-cents
-- (one impression costs CPM / 1000, usually a fraction of a cent).
-- Users are referenced by id only: the accounts tables belong to the store.

CREATE TABLE ads_advertisers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE ads_campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    advertiser_id TEXT NOT NULL REFERENCES ads_advertisers (id),
    name TEXT NOT NULL,
    cpm_cents BIGINT NOT NULL CHECK (cpm_cents > 0),
    budget_cents BIGINT NOT NULL CHECK (budget_cents > 0),
    spent_micro_cents BIGINT NOT NULL DEFAULT 0 CHECK (spent_micro_cents >= 0),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'ended')),
    created_at TIMESTAMP NOT NULL,
    CHECK (starts_at < ends_at),
    CHECK (spent_micro_cents <= budget_cents * 1000000)
);
CREATE INDEX ads_campaigns_advertiser ON ads_campaigns (advertiser_id);

-- The image itself lives in blob storage under `image_key`.
CREATE TABLE ads_creatives (
    id TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES ads_campaigns (id),
    size TEXT NOT NULL,
    headline TEXT NOT NULL,
    body TEXT NOT NULL,
    link_url TEXT NOT NULL,
    image_key TEXT NOT NULL,
    image_content_type TEXT NOT NULL,
    image_bytes BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ads_creatives_size ON ads_creatives (size, campaign_id);
CREATE INDEX ads_creatives_campaign ON ads_creatives (campaign_id);

-- Only the SHA-256 of a code is stored: a database leak cannot pair a device.
CREATE TABLE ads_pairing_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    device_id TEXT
);
CREATE INDEX ads_pairing_codes_user ON ads_pairing_codes (user_id, created_at);

-- One installed agent. `public_key` is the URL-safe base64 of its Ed25519 key.
-- `last_sequence` is the highest batch sequence accepted (NULL before the first batch).
CREATE TABLE ads_devices (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    paired_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_sequence BIGINT,
    last_batch_at TIMESTAMP
);
CREATE INDEX ads_devices_user ON ads_devices (user_id);

-- The receipt of every processed batch, so that a resent batch gets the same answer.
CREATE TABLE ads_batches (
    device_id TEXT NOT NULL REFERENCES ads_devices (id),
    sequence BIGINT NOT NULL,
    digest TEXT NOT NULL,
    receipt TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, sequence)
);

-- Accepted impressions. No URL, no IP: only what the agent reports (DESIGN.md §5).
CREATE TABLE ads_impressions (
    device_id TEXT NOT NULL REFERENCES ads_devices (id),
    event_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    user_id TEXT NOT NULL,
    creative_id TEXT NOT NULL REFERENCES ads_creatives (id),
    campaign_id TEXT NOT NULL REFERENCES ads_campaigns (id),
    cost_micro_cents BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    batch_sequence BIGINT NOT NULL,
    PRIMARY KEY (device_id, event_id)
);
CREATE UNIQUE INDEX ads_impressions_nonce ON ads_impressions (device_id, nonce);
CREATE INDEX ads_impressions_campaign ON ads_impressions (campaign_id);

-- Accepted impressions per device, account or client IP and UTC day ('YYYY-MM-DD'), for the
-- caps and the agent-active rule. IP addresses appear here only, and only per day.
CREATE TABLE ads_daily_counts (
    scope TEXT NOT NULL CHECK (scope IN ('device', 'account', 'ip')),
    subject TEXT NOT NULL,
    day TEXT NOT NULL,
    impressions BIGINT NOT NULL,
    PRIMARY KEY (scope, subject, day)
);

-- Ad revenue per batch and campaign, handed to royalties after the intake transaction commits
-- (`recorded_at`), and taken back when its device or account is flagged (`clawed_back_at`).
CREATE TABLE ads_revenue (
    source_id TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL REFERENCES ads_devices (id),
    user_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES ads_campaigns (id),
    amount_micro_cents BIGINT NOT NULL CHECK (amount_micro_cents > 0),
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP,
    clawed_back_at TIMESTAMP
);
CREATE INDEX ads_revenue_device ON ads_revenue (device_id);
CREATE INDEX ads_revenue_user ON ads_revenue (user_id);
CREATE INDEX ads_revenue_recorded ON ads_revenue (recorded_at);

-- Download credits: earned from accepted impressions, spent one at a time.
CREATE TABLE ads_installer_credits (
    user_id TEXT PRIMARY KEY NOT NULL,
    impressions_total BIGINT NOT NULL DEFAULT 0,
    credits_redeemed BIGINT NOT NULL DEFAULT 0 CHECK (credits_redeemed >= 0)
);

-- Each redemption, handed to royalties after its transaction commits (`recorded_at`).
CREATE TABLE ads_redemptions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    track_id TEXT NOT NULL,
    artist_id TEXT NOT NULL,
    redeemed_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP
);
CREATE INDEX ads_redemptions_user ON ads_redemptions (user_id);
CREATE INDEX ads_redemptions_recorded ON ads_redemptions (recorded_at);

-- Devices and accounts an operator found sending invalid traffic.
CREATE TABLE ads_flags (
    kind TEXT NOT NULL CHECK (kind IN ('device', 'account')),
    subject_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    flagged_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, subject_id)
);
