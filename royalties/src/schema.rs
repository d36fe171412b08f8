//! The royalties crate's tables (migrations `2026-11-21-000003_royalties` and
//! `2026-11-21-000008_royalty_counters`). No other crate reads them; they call this crate's API
//! instead.

diesel::table! {
    royalty_periods (period) {
        period -> Text,
        status -> Text,
        allocation_model -> Nullable<Text>,
        ad_revenue_micro_cents -> BigInt,
        pool_cents -> BigInt,
        carried_micro_cents -> BigInt,
        artist_share_bps -> BigInt,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ledger_accounts (code) {
        code -> Text,
        kind -> Text,
        artist_id -> Nullable<Text>,
        balance_micro_cents -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_transactions (id) {
        id -> Text,
        idempotency_key -> Text,
        kind -> Text,
        source_id -> Text,
        period -> Text,
        reverses_transaction_id -> Nullable<Text>,
        booked_at -> Timestamp,
    }
}

diesel::table! {
    ledger_lines (transaction_id, line_number) {
        transaction_id -> Text,
        line_number -> BigInt,
        account_code -> Text,
        amount_micro_cents -> BigInt,
        source_ref -> Text,
    }
}

diesel::table! {
    royalty_sale_items (sale_id, item_ref) {
        sale_id -> Text,
        item_ref -> Text,
        cart_id -> Text,
        artist_id -> Text,
        gross_cents -> BigInt,
        fee_cents -> BigInt,
        net_cents -> BigInt,
        artist_share_bps -> BigInt,
        artist_cents -> BigInt,
        period -> Text,
        occurred_at -> Timestamp,
        refund_id -> Nullable<Text>,
        refund_artist_cents -> Nullable<BigInt>,
    }
}

diesel::table! {
    royalty_artist_sales (artist_id, period) {
        artist_id -> Text,
        period -> Text,
        share_numerator -> BigInt,
        credited_cents -> BigInt,
    }
}

diesel::table! {
    royalty_ad_revenue (source_id) {
        source_id -> Text,
        kind -> Text,
        installer_id -> Nullable<Text>,
        campaign_id -> Nullable<Text>,
        amount_micro_cents -> BigInt,
        period -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    royalty_plays (kind, source_id) {
        kind -> Text,
        source_id -> Text,
        listener_id -> Text,
        artist_id -> Text,
        track_id -> Nullable<Text>,
        weight -> BigInt,
        period -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    royalty_ad_allocations (period, artist_id) {
        period -> Text,
        artist_id -> Text,
        weight -> BigInt,
        plays -> BigInt,
        amount_cents -> BigInt,
    }
}

diesel::table! {
    royalty_payout_accounts (artist_id) {
        artist_id -> Text,
        destination -> Text,
        status -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    royalty_payouts (id) {
        id -> Text,
        artist_id -> Text,
        destination -> Text,
        amount_cents -> BigInt,
        status -> Text,
        transfer_id -> Nullable<Text>,
        attempts -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(ledger_lines -> ledger_transactions (transaction_id));
diesel::allow_tables_to_appear_in_same_query!(ledger_accounts, ledger_lines, ledger_transactions);

diesel::table! {
    royalty_play_counts (period, listener_id, artist_id) {
        period -> Text,
        listener_id -> Text,
        artist_id -> Text,
        plays -> BigInt,
    }
}

diesel::table! {
    royalty_artist_plays (period, artist_id) {
        period -> Text,
        artist_id -> Text,
        plays -> BigInt,
    }
}

diesel::table! {
    royalty_installer_revenue (period, installer_id) {
        period -> Text,
        installer_id -> Text,
        revenue_micro_cents -> BigInt,
    }
}
