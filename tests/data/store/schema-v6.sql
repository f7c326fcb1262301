-- The schema a new database gets from Wegwijzer with the webhook inbox (schema version 6), as
-- sqlite_master holds it: version 5's (schema-v5.sql) and the table `inbox` (bot/inbox.py).
PRAGMA user_version=6;
CREATE INDEX cases_key ON cases(key, status);
CREATE INDEX cases_status ON cases(status, urgent, created_at);
CREATE INDEX cases_who ON cases(who);
CREATE INDEX conversations_updated ON conversations(updated_at);
CREATE INDEX conversations_who ON conversations(who);
CREATE INDEX desk_messages_case ON desk_messages(case_id);
CREATE INDEX desk_outbox_case ON desk_outbox(case_id);
CREATE INDEX inbox_arrived ON inbox(arrived_at)
        ;
CREATE INDEX inbox_key ON inbox(key);
CREATE INDEX inbox_who ON inbox(who);
CREATE INDEX outbox_who ON outbox(who);
CREATE INDEX relay_messages_case ON relay_messages(case_id);
CREATE INDEX relay_messages_who ON relay_messages(who);
CREATE INDEX timers_due ON timers(due_at);
CREATE INDEX timers_who ON timers(who);
CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL,
            version TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
CREATE TABLE case_refs (
            year INTEGER PRIMARY KEY,
            last INTEGER NOT NULL
        );
CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            ref TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            who TEXT,
            key TEXT,
            lang TEXT NOT NULL,
            urgent INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            title TEXT,
            alias TEXT,
            body BLOB,
            created_at INTEGER NOT NULL,
            delivered_at INTEGER,
            claimed_at INTEGER,
            claimed_by TEXT,
            claimed_in TEXT,
            ended_at INTEGER
        , addr BLOB);
CREATE TABLE conversations (
            key TEXT PRIMARY KEY,
            who TEXT NOT NULL,
            state BLOB NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
CREATE TABLE cursors (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
CREATE TABLE desk_messages (
            desk TEXT NOT NULL,
            message_id TEXT NOT NULL,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            PRIMARY KEY (desk, message_id)
        ) WITHOUT ROWID;
CREATE TABLE desk_outbox (
            id INTEGER PRIMARY KEY,
            desk TEXT NOT NULL,
            case_id INTEGER REFERENCES cases(id) ON DELETE CASCADE,
            what TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at INTEGER NOT NULL
        );
CREATE TABLE flow_versions (
            id INTEGER PRIMARY KEY,
            version TEXT NOT NULL,
            loaded_at TEXT NOT NULL,
            trigger TEXT NOT NULL,
            flows INTEGER NOT NULL
        );
CREATE TABLE handled (
            update_id TEXT PRIMARY KEY,
            at INTEGER NOT NULL
        ) WITHOUT ROWID;
CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            update_id TEXT NOT NULL UNIQUE,
            key TEXT NOT NULL,
            who TEXT NOT NULL,
            addr BLOB NOT NULL,
            payload BLOB NOT NULL,
            arrived_at INTEGER NOT NULL
        );
CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            who TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL
        , addr BLOB);
CREATE TABLE relay_messages (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            who TEXT NOT NULL,
            side TEXT NOT NULL,
            body BLOB NOT NULL,
            at INTEGER NOT NULL
        );
CREATE TABLE stats (
            week TEXT NOT NULL,
            event TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (week, event)
        ) WITHOUT ROWID;
CREATE TABLE timers (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            who TEXT NOT NULL,
            name TEXT NOT NULL,
            lang TEXT,
            due_at INTEGER NOT NULL,
            token TEXT NOT NULL, vars BLOB, addr BLOB, label BLOB,
            UNIQUE (key, name)
        );
