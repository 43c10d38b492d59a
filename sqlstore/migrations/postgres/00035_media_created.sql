-- Expired uploads are deleted oldest first, in small batches: the sweep
-- finds them by creation time.
-- +goose Up
CREATE INDEX media_created ON media (created_at);

-- +goose Down
DROP INDEX media_created;
