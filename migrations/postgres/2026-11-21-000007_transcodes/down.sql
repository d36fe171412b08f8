DROP TABLE transcodes;
