DROP TABLE key_drafts;
