-- A push about a mini program keeps its appid, so that each attempt can go
-- to the platform's message_url as it is then ($APPID$ filled in): a PATCH
-- of the URL applies to the retries of pushes already queued. Rows queued
-- before keep '' and go to the URL they were queued with.
-- +goose Up
ALTER TABLE events ADD COLUMN authorizer_appid TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE events DROP COLUMN authorizer_appid;
