DROP TABLE play_deliveries;
DROP INDEX play_sessions_open;
ALTER TABLE play_sessions DROP COLUMN ended_at;
ALTER TABLE play_sessions DROP COLUMN duration_ms;
ALTER TABLE play_sessions DROP COLUMN file_bytes;
