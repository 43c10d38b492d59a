-- The retention prunes ask whether an audit or a release names a version,
-- whether a release names an audit, and which finished events are old:
-- without these, each of those questions scans a table.
-- +goose Up
CREATE INDEX audits_version ON audits (version_id);
CREATE INDEX releases_version ON releases (version_id);
CREATE INDEX releases_audit ON releases (audit_id);
CREATE INDEX events_created ON events (created_at, id);

-- +goose Down
DROP INDEX events_created;
DROP INDEX releases_audit;
DROP INDEX releases_version;
DROP INDEX audits_version;
