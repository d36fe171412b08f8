DROP TABLE search_documents;
DROP TABLE tracks;
DROP TABLE media_files;
DROP TABLE releases;
DROP TABLE artists;
