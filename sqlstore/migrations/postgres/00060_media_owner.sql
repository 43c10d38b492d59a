-- uploadprivacyextfile keeps each mini program's newest files of a type
-- (PruneMedia): find them by owner without scanning every upload.
-- +goose Up
CREATE INDEX media_owner ON media (authorizer_appid, type, created_at);

-- +goose Down
DROP INDEX media_owner;
