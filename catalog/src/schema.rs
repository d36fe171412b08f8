//! The catalog's tables (migrations/*/2026-11-21-000002_catalog).

diesel::table! {
    artists (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        bio -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    releases (id) {
        id -> Text,
        artist_id -> Text,
        title -> Nullable<Text>,
        kind -> Text,
        state -> Text,
        release_date -> Nullable<Date>,
        credits -> Text,
        artwork_key -> Nullable<Text>,
        price_kind -> Nullable<Text>,
        price_cents -> Nullable<BigInt>,
        minimum_price_cents -> Nullable<BigInt>,
        published_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    media_files (id) {
        id -> Text,
        artist_id -> Text,
        storage_key -> Text,
        size_bytes -> BigInt,
        content_hash -> Text,
        original_file_name -> Text,
        container -> Text,
        codec -> Text,
        sample_rate_hz -> Integer,
        channels -> Integer,
        bits_per_sample -> Nullable<Integer>,
        duration_ms -> BigInt,
        analysis_json -> Text,
        artwork_key -> Nullable<Text>,
        artwork_size_bytes -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tracks (id) {
        id -> Text,
        release_id -> Text,
        media_file_id -> Text,
        position -> Integer,
        title -> Text,
        credits -> Text,
        isrc -> Nullable<Text>,
        price_kind -> Nullable<Text>,
        price_cents -> Nullable<BigInt>,
        minimum_price_cents -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

// An FTS5 virtual table on SQLite, a plain table on PostgreSQL; written through this
// declaration, matched with backend-specific SQL in search.rs. `document_id` is unique in
// practice but not declared so: diesel only needs a key column to name.
diesel::table! {
    search_documents (document_id) {
        kind -> Text,
        document_id -> Text,
        artist_id -> Text,
        body -> Text,
    }
}

diesel::joinable!(releases -> artists (artist_id));
diesel::joinable!(media_files -> artists (artist_id));
diesel::joinable!(tracks -> releases (release_id));
diesel::joinable!(tracks -> media_files (media_file_id));
diesel::allow_tables_to_appear_in_same_query!(artists, releases, media_files, tracks);

// migrations/*/2026-12-04-180000_release_tags
diesel::table! {
    release_tags (release_id, tag) {
        release_id -> Text,
        tag -> Text,
    }
}

diesel::joinable!(release_tags -> releases (release_id));
diesel::allow_tables_to_appear_in_same_query!(release_tags, releases);
diesel::allow_tables_to_appear_in_same_query!(release_tags, artists);
