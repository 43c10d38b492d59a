-- A privacy guide's supplementary file (type privacy_ext) does not expire as
-- uploadmedia's do: each mini program keeps its newest and those its guides
-- use (PruneMedia). The sweep of expired uploads finds the others by creation
-- time, without walking past the kept files.
-- +goose Up
CREATE INDEX media_expiring ON media (created_at) WHERE type <> 'privacy_ext';
DROP INDEX media_created;

-- +goose Down
CREATE INDEX media_created ON media (created_at);
DROP INDEX media_expiring;
