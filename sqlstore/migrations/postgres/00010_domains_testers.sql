-- Domains, testers, authorizer options (issue 9, part A). Keep in step with
-- ../sqlite/00010_domains_testers.sql.
--
-- A mini program's domain state is one JSON document (four layers of six
-- bounded lists, plus the web-view layers): it is always read and written
-- whole, under the mini program's lock.

-- +goose Up
CREATE TABLE authorizer_domains (
    appid      TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE platform_domains (
    appid      TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE testers (
    authorizer_appid TEXT NOT NULL,
    userstr          TEXT NOT NULL,
    wechat_id        TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (authorizer_appid, userstr)
);
-- The 50-mini-programs-per-person cap counts by person.
CREATE INDEX testers_userstr ON testers (userstr);

CREATE TABLE authorizer_options (
    authorizer_appid TEXT NOT NULL,
    name             TEXT NOT NULL,
    value            TEXT NOT NULL,
    PRIMARY KEY (authorizer_appid, name)
);

-- api_get_authorizer_list pages a platform's grants in authorization order.
CREATE INDEX authorizations_platform_created ON authorizations (platform_appid, created_at, authorizer_appid);

-- +goose Down
DROP INDEX authorizations_platform_created;
DROP TABLE authorizer_options;
DROP TABLE testers;
DROP TABLE platform_domains;
DROP TABLE authorizer_domains;
