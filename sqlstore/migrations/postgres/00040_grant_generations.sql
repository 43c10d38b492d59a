-- Grant generations and grant revisions (issue 11, and issue 10 §2).
--
-- A token remembers the generation of the grant it was issued under; a grant
-- made again after a revoke gets the next generation of its pair, so a token
-- from before the revoke stays refused even when no clock moved in between.
-- grant_generations outlives the authorizations row it counts for.
--
-- authorizers.grants_rev counts changes of a mini program's privacy-API and
-- plugin grants, so a server may run the commit engine on grants it read
-- earlier and check in the commit's own transaction that they still hold.

-- +goose Up
CREATE TABLE grant_generations (
    platform_appid   TEXT NOT NULL,
    authorizer_appid TEXT NOT NULL,
    generation       BIGINT NOT NULL,
    PRIMARY KEY (platform_appid, authorizer_appid)
);
ALTER TABLE authorizations ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
ALTER TABLE tokens ADD COLUMN grant_generation BIGINT NOT NULL DEFAULT 1;
ALTER TABLE authorizers ADD COLUMN grants_rev BIGINT NOT NULL DEFAULT 0;
INSERT INTO grant_generations (platform_appid, authorizer_appid, generation)
    SELECT platform_appid, authorizer_appid, 1 FROM authorizations;

-- +goose Down
ALTER TABLE authorizers DROP COLUMN grants_rev;
ALTER TABLE tokens DROP COLUMN grant_generation;
ALTER TABLE authorizations DROP COLUMN generation;
DROP TABLE grant_generations;
