-- Bounded tokens: a platform keeps its newest few tokens of each kind and a
-- grant its newest few authorizer tokens; issuing one more deletes the
-- oldest (service/tokens.go says how many).
--
-- tokens.seq orders one owner's tokens; rows from before are 0, the oldest.
-- platforms.token_seq and authorizations.token_seq count what the platform
-- and the grant issued. The grant's count is read with the grant on every
-- request, so a server that holds an authorizer token in memory refuses it
-- once enough newer ones were issued, on whichever server.

-- +goose Up
ALTER TABLE tokens ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE platforms ADD COLUMN token_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE authorizations ADD COLUMN token_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tokens_owner ON tokens (platform_appid, kind, authorizer_appid, seq);

-- +goose Down
DROP INDEX tokens_owner;
ALTER TABLE authorizations DROP COLUMN token_seq;
ALTER TABLE platforms DROP COLUMN token_seq;
ALTER TABLE tokens DROP COLUMN seq;
