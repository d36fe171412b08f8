//! The ads crate's tables (migrations `2026-11-21-000006_ads`). No other crate reads them.

diesel::table! {
    ads_advertisers (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ads_campaigns (id) {
        id -> Text,
        advertiser_id -> Text,
        name -> Text,
        cpm_cents -> BigInt,
        budget_cents -> BigInt,
        spent_micro_cents -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ads_creatives (id) {
        id -> Text,
        campaign_id -> Text,
        size -> Text,
        headline -> Text,
        body -> Text,
        link_url -> Text,
        image_key -> Text,
        image_content_type -> Text,
        image_bytes -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ads_pairing_codes (code_hash) {
        code_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        device_id -> Nullable<Text>,
    }
}

diesel::table! {
    ads_devices (id) {
        id -> Text,
        user_id -> Text,
        public_key -> Text,
        paired_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_sequence -> Nullable<BigInt>,
        last_batch_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ads_batches (device_id, sequence) {
        device_id -> Text,
        sequence -> BigInt,
        digest -> Text,
        receipt -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    ads_impressions (device_id, event_id) {
        device_id -> Text,
        event_id -> Text,
        nonce -> Text,
        user_id -> Text,
        creative_id -> Text,
        campaign_id -> Text,
        cost_micro_cents -> BigInt,
        occurred_at -> Timestamp,
        batch_sequence -> BigInt,
    }
}

diesel::table! {
    ads_daily_counts (scope, subject, day) {
        scope -> Text,
        subject -> Text,
        day -> Text,
        impressions -> BigInt,
    }
}

diesel::table! {
    ads_revenue (source_id) {
        source_id -> Text,
        device_id -> Text,
        user_id -> Text,
        campaign_id -> Text,
        amount_micro_cents -> BigInt,
        occurred_at -> Timestamp,
        recorded_at -> Nullable<Timestamp>,
        clawed_back_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ads_installer_credits (user_id) {
        user_id -> Text,
        impressions_total -> BigInt,
        credits_redeemed -> BigInt,
    }
}

diesel::table! {
    ads_redemptions (id) {
        id -> Text,
        user_id -> Text,
        track_id -> Text,
        artist_id -> Text,
        redeemed_at -> Timestamp,
        recorded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ads_flags (kind, subject_id) {
        kind -> Text,
        subject_id -> Text,
        reason -> Text,
        flagged_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(ads_advertisers, ads_campaigns, ads_creatives);
diesel::joinable!(ads_creatives -> ads_campaigns (campaign_id));
