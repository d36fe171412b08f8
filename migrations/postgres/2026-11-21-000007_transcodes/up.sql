-- Transcoded downloads and previews of media files: each (media file, format) is made once, on
-- first request, and reused. The primary key is what lets only one of several racing requests
-- cache its result. Removing a media file must remove its transcodes (and their blobs) first.
CREATE TABLE transcodes (
    media_file_id TEXT NOT NULL REFERENCES media_files (id) ON DELETE RESTRICT,
    format TEXT NOT NULL CHECK (format IN ('flac', 'mp3-320', 'mp3-v0', 'preview')),
    storage_key TEXT NOT NULL UNIQUE,
    size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (media_file_id, format)
);
