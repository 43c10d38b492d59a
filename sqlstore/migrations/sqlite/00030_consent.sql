-- The consent page signs the merchant in with the mini program's AppSecret;
-- mini programs created before get a random one (see it with GET
-- /miniship/v1/authorizers/{appid}, change it with PATCH). The index serves
-- the exclusivity check, which reads every grant of one mini program.

-- +goose Up
ALTER TABLE authorizers ADD COLUMN secret TEXT NOT NULL DEFAULT '';
UPDATE authorizers SET secret = lower(hex(randomblob(16)));
CREATE INDEX authorizations_authorizer ON authorizations (authorizer_appid);

-- +goose Down
DROP INDEX authorizations_authorizer;
ALTER TABLE authorizers DROP COLUMN secret;
