-- Plays that were heard (store/src/storefront/plays.rs): a session's credited position is bounded
-- by the audio delivered through its own stream link, mapped to time through the file's size and
-- the track's duration (both kept from when the session started), and by the time it was open.
-- Sessions from before this migration have no size, so they are credited nothing more.
ALTER TABLE play_sessions ADD COLUMN file_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE play_sessions ADD COLUMN duration_ms BIGINT NOT NULL DEFAULT 0;
-- When a newer session of the same listener ended this one; its clock stops there.
ALTER TABLE play_sessions ADD COLUMN ended_at TIMESTAMP;
CREATE INDEX play_sessions_open ON play_sessions (listener_id, ended_at);
-- One row per response served through a session's stream link: the bytes [first_byte, end_byte)
-- it carried. Overlapping ranges are counted once.
CREATE TABLE play_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    play_id TEXT NOT NULL REFERENCES play_sessions (id) ON DELETE CASCADE,
    first_byte BIGINT NOT NULL,
    end_byte BIGINT NOT NULL,
    delivered_at TIMESTAMP NOT NULL
);
CREATE INDEX play_deliveries_play ON play_deliveries (play_id);
