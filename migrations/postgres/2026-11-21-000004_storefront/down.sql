DROP TABLE play_sessions;
