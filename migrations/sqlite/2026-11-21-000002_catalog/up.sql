-- The catalog, owned by the catalog crate (catalog/src): artist profiles, releases, their tracks,
-- the media files behind the tracks, and the public search index.

-- One profile per user with the artist role; the store checks the role, the catalog keeps the profile.
CREATE TABLE artists (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    bio TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A price rule is either fixed (price_cents, no minimum) or pay-what-you-want (price_cents is the
-- suggested amount, minimum_price_cents at most that); NULL kind means "not priced yet".
CREATE TABLE releases (
    id TEXT PRIMARY KEY NOT NULL,
    artist_id TEXT NOT NULL REFERENCES artists (id) ON DELETE RESTRICT,
    title TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('album', 'ep', 'single')),
    state TEXT NOT NULL CHECK (state IN ('draft', 'published', 'unpublished')),
    release_date DATE,
    credits TEXT NOT NULL,
    artwork_key TEXT,
    price_kind TEXT CHECK (price_kind IN ('fixed', 'pay_what_you_want')),
    price_cents BIGINT CHECK (price_cents >= 0),
    minimum_price_cents BIGINT CHECK (minimum_price_cents >= 0),
    -- First publication; the public catalog lists releases newest first by it.
    published_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((price_kind IS NULL AND price_cents IS NULL AND minimum_price_cents IS NULL)
        OR (price_kind = 'fixed' AND price_cents IS NOT NULL AND minimum_price_cents IS NULL)
        OR (price_kind = 'pay_what_you_want' AND price_cents IS NOT NULL AND minimum_price_cents IS NOT NULL
            AND minimum_price_cents <= price_cents)),
    CHECK (state = 'draft' OR published_at IS NOT NULL)
);
CREATE INDEX releases_artist ON releases (artist_id);
CREATE INDEX releases_public_order ON releases (state, published_at, id);

-- An uploaded audio file and what analysis found in it. The same audio (content hash) exists at
-- most once per artist.
CREATE TABLE media_files (
    id TEXT PRIMARY KEY NOT NULL,
    artist_id TEXT NOT NULL REFERENCES artists (id) ON DELETE RESTRICT,
    storage_key TEXT NOT NULL UNIQUE,
    size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),
    content_hash TEXT NOT NULL,
    original_file_name TEXT NOT NULL,
    container TEXT NOT NULL,
    codec TEXT NOT NULL,
    sample_rate_hz INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    bits_per_sample INTEGER,
    duration_ms BIGINT NOT NULL CHECK (duration_ms > 0),
    -- The full analysis (tags, loudness, waveform peaks) as JSON.
    analysis_json TEXT NOT NULL,
    artwork_key TEXT,
    artwork_size_bytes BIGINT NOT NULL CHECK (artwork_size_bytes >= 0),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (artist_id, content_hash)
);

-- Tracks exist only through an ingested media file, so every track has an analysis.
CREATE TABLE tracks (
    id TEXT PRIMARY KEY NOT NULL,
    release_id TEXT NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    media_file_id TEXT NOT NULL UNIQUE REFERENCES media_files (id) ON DELETE RESTRICT,
    position INTEGER NOT NULL CHECK (position >= 1),
    title TEXT NOT NULL,
    credits TEXT NOT NULL,
    isrc TEXT,
    price_kind TEXT CHECK (price_kind IN ('fixed', 'pay_what_you_want')),
    price_cents BIGINT CHECK (price_cents >= 0),
    minimum_price_cents BIGINT CHECK (minimum_price_cents >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((price_kind IS NULL AND price_cents IS NULL AND minimum_price_cents IS NULL)
        OR (price_kind = 'fixed' AND price_cents IS NOT NULL AND minimum_price_cents IS NULL)
        OR (price_kind = 'pay_what_you_want' AND price_cents IS NOT NULL AND minimum_price_cents IS NOT NULL
            AND minimum_price_cents <= price_cents))
);
CREATE INDEX tracks_release ON tracks (release_id, position);

-- The public search index: one document per visible artist, release and track, rewritten by
-- catalog/src/search.rs whenever public text or a release's state changes. SQLite uses FTS5
-- (a virtual table with shadow tables); PostgreSQL a plain table with a full-text GIN index.
CREATE VIRTUAL TABLE search_documents USING fts5 (
    kind UNINDEXED,
    document_id UNINDEXED,
    artist_id UNINDEXED,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);
