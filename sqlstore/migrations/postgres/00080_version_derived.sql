-- A version stores what its commit sent; its ext, page list and privacy
-- lists are derived from the template and ext_json when read (derived).
-- Rows stored before keep those columns and are read as stored (FALSE):
-- they are not rewritten, since the engine that made them may have changed.
-- +goose Up
ALTER TABLE versions ADD COLUMN derived BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
-- Rows committed since lack the derived columns: older code reads them empty.
ALTER TABLE versions DROP COLUMN derived;
