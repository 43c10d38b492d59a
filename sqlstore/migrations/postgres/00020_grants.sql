-- Privacy guides and the applications for privacy APIs, categories and
-- plugins (grants.go). Each table is bounded per mini program: one guide per
-- version, one application per API, category or plugin.

-- +goose Up
CREATE TABLE privacy_settings (
    authorizer_appid TEXT NOT NULL REFERENCES authorizers (appid),
    ver              INTEGER NOT NULL,
    doc              TEXT,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (authorizer_appid, ver)
);

CREATE TABLE privacy_applications (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authorizer_appid TEXT NOT NULL REFERENCES authorizers (appid),
    platform_appid   TEXT NOT NULL,
    api_name         TEXT NOT NULL,
    status           INTEGER NOT NULL,
    content          TEXT NOT NULL,
    url_list         TEXT,
    pic_list         TEXT,
    video_list       TEXT,
    reason           TEXT NOT NULL,
    applied_at       BIGINT NOT NULL,
    decided_at       BIGINT NOT NULL,
    UNIQUE (authorizer_appid, api_name)
);
CREATE INDEX privacy_applications_status ON privacy_applications (status, id);

CREATE TABLE category_applications (
    authorizer_appid TEXT NOT NULL REFERENCES authorizers (appid),
    first_id         BIGINT NOT NULL,
    second_id        BIGINT NOT NULL,
    platform_appid   TEXT NOT NULL,
    status           INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    certificates     TEXT,
    applied_at       BIGINT NOT NULL,
    decided_at       BIGINT NOT NULL,
    PRIMARY KEY (authorizer_appid, first_id, second_id)
);
CREATE INDEX category_applications_status ON category_applications (status, applied_at);

CREATE TABLE plugin_applications (
    authorizer_appid TEXT NOT NULL REFERENCES authorizers (appid),
    plugin_appid     TEXT NOT NULL,
    platform_appid   TEXT NOT NULL,
    status           INTEGER NOT NULL,
    apply_reason     TEXT NOT NULL,
    refuse_reason    TEXT NOT NULL,
    user_version     TEXT NOT NULL,
    applied_at       BIGINT NOT NULL,
    decided_at       BIGINT NOT NULL,
    PRIMARY KEY (authorizer_appid, plugin_appid)
);
CREATE INDEX plugin_applications_plugin ON plugin_applications (plugin_appid, applied_at);
CREATE INDEX plugin_applications_status ON plugin_applications (status, applied_at);

-- +goose Down
DROP TABLE plugin_applications;
DROP TABLE category_applications;
DROP TABLE privacy_applications;
DROP TABLE privacy_settings;
