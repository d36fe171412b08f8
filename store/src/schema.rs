//! Tables owned by the store: accounts and sessions. Other crates own and declare their own.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        display_name -> Text,
        role -> Text,
        agent_active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    play_sessions,
    play_deliveries
);

diesel::table! {
    play_sessions (id) {
        id -> Text,
        listener_id -> Text,
        track_id -> Text,
        artist_id -> Text,
        own_track -> Bool,
        started_at -> Timestamp,
        position_ms -> BigInt,
        qualified_at -> Nullable<Timestamp>,
        file_bytes -> BigInt,
        duration_ms -> BigInt,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    play_deliveries (id) {
        id -> Text,
        play_id -> Text,
        first_byte -> BigInt,
        end_byte -> BigInt,
        delivered_at -> Timestamp,
    }
}

diesel::joinable!(play_deliveries -> play_sessions (play_id));
