DROP TABLE release_tags;
