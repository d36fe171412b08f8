//! The payments crate's tables (migrations `2026-11-21-000005_payments` and
//! `2026-11-21-000009_credit_redemptions`); no other crate reads them.

diesel::table! {
    payment_orders (id) {
        id -> Text,
        listener_id -> Text,
        status -> Text,
        gateway -> Text,
        cart_fingerprint -> Text,
        total_cents -> BigInt,
        session_id -> Nullable<Text>,
        checkout_url -> Nullable<Text>,
        charge_id -> Nullable<Text>,
        fee_cents -> Nullable<BigInt>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payment_order_lines (order_id, item_ref) {
        order_id -> Text,
        item_ref -> Text,
        item_kind -> Text,
        item_id -> Text,
        artist_id -> Text,
        title -> Text,
        amount_cents -> BigInt,
    }
}

diesel::table! {
    payment_entitlements (listener_id, item_kind, item_id, order_id) {
        listener_id -> Text,
        item_kind -> Text,
        item_id -> Text,
        order_id -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    payment_credit_entitlements (listener_id, track_id) {
        listener_id -> Text,
        track_id -> Text,
        redemption_id -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    payment_webhook_events (event_id) {
        event_id -> Text,
        event_type -> Text,
        processed_at -> Timestamp,
    }
}

diesel::table! {
    payment_payout_accounts (artist_id) {
        artist_id -> Text,
        account_id -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payment_test_sessions (id) {
        id -> Text,
        order_id -> Text,
        amount_cents -> BigInt,
        status -> Text,
        charge_id -> Nullable<Text>,
        fee_cents -> Nullable<BigInt>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payment_test_events (id) {
        id -> Text,
        session_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    payment_test_transfers (idempotency_key) {
        idempotency_key -> Text,
        transfer_id -> Text,
        destination -> Text,
        amount_cents -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(payment_order_lines -> payment_orders (order_id));
diesel::allow_tables_to_appear_in_same_query!(
    payment_orders,
    payment_order_lines,
    payment_entitlements
);
