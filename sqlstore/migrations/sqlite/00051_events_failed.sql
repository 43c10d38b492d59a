-- +goose Up
-- Metrics count the failed pushes at every scrape; the partial index keeps
-- that a count of the few failed rows, however long the outbox history.
CREATE INDEX events_failed ON events (id) WHERE status = 'failed';

-- +goose Down
DROP INDEX events_failed;
