-- What migration 6 (bot/inbox.py, the webhook inbox) adds to schema-v5.sql: a new database at
-- schema version 6 got both; schema-v7.sql adds the next.
PRAGMA user_version=6;
CREATE INDEX inbox_arrived ON inbox(arrived_at);
CREATE INDEX inbox_key ON inbox(key);
CREATE INDEX inbox_who ON inbox(who);
CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            update_id TEXT NOT NULL UNIQUE,
            key TEXT NOT NULL,
            who TEXT NOT NULL,
            addr BLOB NOT NULL,
            payload BLOB NOT NULL,
            arrived_at INTEGER NOT NULL
        );
