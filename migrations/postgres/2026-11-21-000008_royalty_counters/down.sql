DROP TABLE royalty_installer_revenue;
DROP TABLE royalty_artist_plays;
DROP TABLE royalty_play_counts;
