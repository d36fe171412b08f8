-- Tags of releases (catalog/src/tags.rs): at most 10 per release, stored normalised (trimmed,
-- lower case), so one tag is one string; the tag index serves the public tag pages.
CREATE TABLE release_tags (
    release_id TEXT NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (release_id, tag)
);
CREATE INDEX release_tags_tag ON release_tags (tag);
