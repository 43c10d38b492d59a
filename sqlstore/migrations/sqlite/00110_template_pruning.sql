-- Deleted templates go once no version names them (retention): the index
-- finds whether one does. deleted_at is when deletetemplate marked one, so
-- that it goes only after a commit of it that was in flight then (PostgreSQL
-- checks the template without locking it) has stored its version. Templates
-- deleted before have the zero time (the minimum int64).

-- +goose Up
ALTER TABLE templates ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT -9223372036854775808;
CREATE INDEX versions_template ON versions (template_id);

-- +goose Down
DROP INDEX versions_template;
ALTER TABLE templates DROP COLUMN deleted_at;
