-- What migration 7 (bot/handover.py) adds to schema-v6.sql: a new database gets both, at schema version 7.
PRAGMA user_version=7;
CREATE INDEX handover_files_folder ON handover_files(folder);
CREATE TABLE handover_files (
    path TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    content BLOB NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
