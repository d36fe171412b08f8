-- Play sessions, owned by the store (store/src/storefront). A session starts when a listener
-- starts a full stream; it qualifies once the listener reports >= 30 s played, bounded by the
-- server's own clock since the session began. Qualifying plays are recorded in royalties.
CREATE TABLE play_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    listener_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id TEXT NOT NULL,
    artist_id TEXT NOT NULL,
    -- The listener is the track's own artist: such plays never qualify.
    own_track BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL,
    position_ms BIGINT NOT NULL,
    qualified_at TIMESTAMP
);
CREATE INDEX play_sessions_daily_cap ON play_sessions (listener_id, track_id, qualified_at);
