-- The miniship schema on PostgreSQL. Keep it in step with ../sqlite/00001_init.sql:
-- the same tables, columns and indexes; only the types differ.
--
-- Times are BIGINT Unix nanoseconds, UTC (the zero time is the minimum
-- int64): exact, where TIMESTAMPTZ would round to microseconds, and compared
-- by the same SQL as on SQLite. JSON-valued fields are TEXT holding JSON, NULL
-- for a nil slice or message: the store never queries inside them.
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
    ticket_at        BIGINT NOT NULL,
    audit_quota      INTEGER NOT NULL,
    speedup_quota    INTEGER NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE tokens (
    kind             TEXT NOT NULL,
    value            TEXT NOT NULL,
    platform_appid   TEXT NOT NULL,
    authorizer_appid TEXT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used             BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE authorizers (
    appid            TEXT PRIMARY KEY,
    nickname         TEXT NOT NULL,
    original_id      TEXT NOT NULL,
    profile_complete BOOLEAN NOT NULL,
    categories       TEXT,
    privacy_apis     TEXT,
    plugins          TEXT,
    visit_status     INTEGER NOT NULL,
    support_version  TEXT NOT NULL,
    commit_until     BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE authorizations (
    platform_appid   TEXT NOT NULL REFERENCES platforms (appid),
    authorizer_appid TEXT NOT NULL REFERENCES authorizers (appid),
    permission_sets  TEXT,
    refresh_token    TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (platform_appid, authorizer_appid)
);

CREATE TABLE drafts (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_appid TEXT NOT NULL,
    user_version   TEXT NOT NULL,
    user_desc      TEXT NOT NULL,
    source_appid   TEXT NOT NULL,
    source_name    TEXT NOT NULL,
    developer      TEXT NOT NULL,
    package        BYTEA,
    created_at     BIGINT NOT NULL
);
CREATE INDEX drafts_platform ON drafts (platform_appid, id);

CREATE TABLE templates (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_appid TEXT NOT NULL,
    draft_id       BIGINT NOT NULL REFERENCES drafts (id),
    type           INTEGER NOT NULL,
    user_version   TEXT NOT NULL,
    user_desc      TEXT NOT NULL,
    source_appid   TEXT NOT NULL,
    source_name    TEXT NOT NULL,
    developer      TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    deleted        BOOLEAN NOT NULL
);
CREATE INDEX templates_platform ON templates (platform_appid, id);

CREATE TABLE versions (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authorizer_appid      TEXT NOT NULL,
    platform_appid        TEXT NOT NULL,
    template_id           BIGINT NOT NULL,
    user_version          TEXT NOT NULL,
    user_desc             TEXT NOT NULL,
    ext_json              TEXT NOT NULL,
    app                   TEXT,
    pages                 TEXT,
    ext                   TEXT,
    page_list             TEXT,
    used_privacy_apis     TEXT,
    declared_privacy_apis TEXT,
    scan_done_at          BIGINT NOT NULL,
    created_at            BIGINT NOT NULL
);
CREATE INDEX versions_authorizer ON versions (authorizer_appid, id);

CREATE TABLE audits (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authorizer_appid TEXT NOT NULL,
    platform_appid   TEXT NOT NULL,
    version_id       BIGINT NOT NULL REFERENCES versions (id),
    status           INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    screenshot       TEXT NOT NULL,
    request          TEXT,
    sped_up          BOOLEAN NOT NULL,
    released         BOOLEAN NOT NULL,
    submitted_at     BIGINT NOT NULL,
    decided_at       BIGINT NOT NULL
);
CREATE INDEX audits_authorizer ON audits (authorizer_appid, id);
CREATE INDEX audits_status ON audits (status, id);

CREATE TABLE releases (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authorizer_appid TEXT NOT NULL,
    version_id       BIGINT NOT NULL REFERENCES versions (id),
    audit_id         BIGINT NOT NULL,
    user_version     TEXT NOT NULL,
    user_desc        TEXT NOT NULL,
    commit_time      BIGINT NOT NULL,
    released_at      BIGINT NOT NULL,
    reverted         BOOLEAN NOT NULL
);
CREATE INDEX releases_authorizer ON releases (authorizer_appid, id);

CREATE TABLE gray_plans (
    authorizer_appid  TEXT PRIMARY KEY,
    status            INTEGER NOT NULL,
    percentage        INTEGER NOT NULL,
    debuger_first     BOOLEAN NOT NULL,
    experiencer_first BOOLEAN NOT NULL,
    audit_id          BIGINT NOT NULL,
    created_at        BIGINT NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    n    BIGINT NOT NULL
);

CREATE TABLE media (
    id               TEXT PRIMARY KEY,
    authorizer_appid TEXT NOT NULL,
    type             TEXT NOT NULL,
    data             BYTEA,
    created_at       BIGINT NOT NULL
);

CREATE TABLE events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_appid  TEXT NOT NULL,
    url             TEXT NOT NULL,
    kind            TEXT NOT NULL,
    envelope_kind   TEXT NOT NULL,
    envelope_to     TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX events_platform ON events (platform_appid, id);
-- Only pending events are ever due: the partial index stays small however
-- long the delivered history grows.
CREATE INDEX events_due ON events (next_attempt_at, id) WHERE status = 'pending';

CREATE TABLE event_attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    http_status  INTEGER NOT NULL,
    response     TEXT NOT NULL,
    error        TEXT NOT NULL
);
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
