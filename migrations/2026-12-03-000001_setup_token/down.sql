DROP TABLE setup_tokens;
