-- The miniship schema on SQLite. Keep it in step with ../postgres/00001_init.sql:
-- the same tables, columns and indexes; only the types differ.
--
-- Times are INTEGER Unix nanoseconds, UTC (the zero time is the minimum
-- int64). Booleans are INTEGER 0/1. JSON-valued fields are TEXT holding JSON,
-- NULL for a nil slice or message. STRICT makes SQLite check the types.
--
-- Foreign keys tie a row to a parent whose id the store handed out (draft,
-- version, event) and an authorization to both its sides. App ids elsewhere
-- are checked by the service, which the store does not force into an order of
-- inserts. Parents are never deleted, so child columns get an index only where
-- a Tx method looks them up.

-- +goose Up
CREATE TABLE platforms (
    appid            TEXT PRIMARY KEY,
    secret           TEXT NOT NULL,
    token            TEXT NOT NULL,
    encoding_aes_key TEXT NOT NULL,
    auth_event_url   TEXT NOT NULL,
    message_url      TEXT NOT NULL,
    verify_ticket    TEXT NOT NULL,
    ticket_at        INTEGER NOT NULL,
    audit_quota      INTEGER NOT NULL,
    speedup_quota    INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    kind             TEXT NOT NULL,
    value            TEXT NOT NULL,
    platform_appid   TEXT NOT NULL,
    authorizer_appid TEXT NOT NULL,
    expires_at       INTEGER NOT NULL,
    used             INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
) STRICT;
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE authorizers (
    appid            TEXT PRIMARY KEY,
    nickname         TEXT NOT NULL,
    original_id      TEXT NOT NULL,
    profile_complete INTEGER NOT NULL,
    categories       TEXT,
    privacy_apis     TEXT,
    plugins          TEXT,
    visit_status     INTEGER NOT NULL,
    support_version  TEXT NOT NULL,
    commit_until     INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE authorizations (
    platform_appid   TEXT NOT NULL REFERENCES platforms (appid),
    authorizer_appid TEXT NOT NULL REFERENCES authorizers (appid),
    permission_sets  TEXT,
    refresh_token    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (platform_appid, authorizer_appid)
) STRICT;

CREATE TABLE drafts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_appid TEXT NOT NULL,
    user_version   TEXT NOT NULL,
    user_desc      TEXT NOT NULL,
    source_appid   TEXT NOT NULL,
    source_name    TEXT NOT NULL,
    developer      TEXT NOT NULL,
    package        BLOB,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX drafts_platform ON drafts (platform_appid, id);

CREATE TABLE templates (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_appid TEXT NOT NULL,
    draft_id       INTEGER NOT NULL REFERENCES drafts (id),
    type           INTEGER NOT NULL,
    user_version   TEXT NOT NULL,
    user_desc      TEXT NOT NULL,
    source_appid   TEXT NOT NULL,
    source_name    TEXT NOT NULL,
    developer      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    deleted        INTEGER NOT NULL
) STRICT;
CREATE INDEX templates_platform ON templates (platform_appid, id);

CREATE TABLE versions (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    authorizer_appid      TEXT NOT NULL,
    platform_appid        TEXT NOT NULL,
    template_id           INTEGER NOT NULL,
    user_version          TEXT NOT NULL,
    user_desc             TEXT NOT NULL,
    ext_json              TEXT NOT NULL,
    app                   TEXT,
    pages                 TEXT,
    ext                   TEXT,
    page_list             TEXT,
    used_privacy_apis     TEXT,
    declared_privacy_apis TEXT,
    scan_done_at          INTEGER NOT NULL,
    created_at            INTEGER NOT NULL
) STRICT;
CREATE INDEX versions_authorizer ON versions (authorizer_appid, id);

CREATE TABLE audits (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    authorizer_appid TEXT NOT NULL,
    platform_appid   TEXT NOT NULL,
    version_id       INTEGER NOT NULL REFERENCES versions (id),
    status           INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    screenshot       TEXT NOT NULL,
    request          TEXT,
    sped_up          INTEGER NOT NULL,
    released         INTEGER NOT NULL,
    submitted_at     INTEGER NOT NULL,
    decided_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX audits_authorizer ON audits (authorizer_appid, id);
CREATE INDEX audits_status ON audits (status, id);

CREATE TABLE releases (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    authorizer_appid TEXT NOT NULL,
    version_id       INTEGER NOT NULL REFERENCES versions (id),
    audit_id         INTEGER NOT NULL,
    user_version     TEXT NOT NULL,
    user_desc        TEXT NOT NULL,
    commit_time      INTEGER NOT NULL,
    released_at      INTEGER NOT NULL,
    reverted         INTEGER NOT NULL
) STRICT;
CREATE INDEX releases_authorizer ON releases (authorizer_appid, id);

CREATE TABLE gray_plans (
    authorizer_appid  TEXT PRIMARY KEY,
    status            INTEGER NOT NULL,
    percentage        INTEGER NOT NULL,
    debuger_first     INTEGER NOT NULL,
    experiencer_first INTEGER NOT NULL,
    audit_id          INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    n    INTEGER NOT NULL
) STRICT;

CREATE TABLE media (
    id               TEXT PRIMARY KEY,
    authorizer_appid TEXT NOT NULL,
    type             TEXT NOT NULL,
    data             BLOB,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_appid  TEXT NOT NULL,
    url             TEXT NOT NULL,
    kind            TEXT NOT NULL,
    envelope_kind   TEXT NOT NULL,
    envelope_to     TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX events_platform ON events (platform_appid, id);
-- Only pending events are ever due: the partial index stays small however
-- long the delivered history grows.
CREATE INDEX events_due ON events (next_attempt_at, id) WHERE status = 'pending';

CREATE TABLE event_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    attempted_at INTEGER NOT NULL,
    http_status  INTEGER NOT NULL,
    response     TEXT NOT NULL,
    error        TEXT NOT NULL
) STRICT;
CREATE INDEX event_attempts_event ON event_attempts (event_id, id);

-- +goose Down
DROP TABLE event_attempts;
DROP TABLE events;
DROP TABLE media;
DROP TABLE counters;
DROP TABLE gray_plans;
DROP TABLE releases;
DROP TABLE audits;
DROP TABLE versions;
DROP TABLE templates;
DROP TABLE drafts;
DROP TABLE authorizations;
DROP TABLE authorizers;
DROP TABLE tokens;
DROP TABLE platforms;
