-- api_get_authorizer_list answers total_count: counting a platform's
-- authorizations each time reads its whole index (15 ms at 100,000).
-- authorization_counts keeps the number, moved by triggers in the
-- transaction of every grant's insert and delete (authorize, revoke, and
-- bulk inserts alike), so it cannot drift from the rows it counts. A grant
-- made again is an upsert's UPDATE and leaves the count alone.
--
-- rev moves whenever the list's order changes other than at its end: a
-- revoke, or a grant that sorts before the last one (last_created,
-- last_appid; an equal time with a smaller appid). While rev stays, the
-- grant at an offset stays the same, so a page may start after the key the
-- previous page ended with instead of skipping the offset in the index.
--
-- The triggers are per statement, over its transition table: a bulk insert
-- moves the count once, not once per row (each row's update of the same
-- count would leave a row version behind that the next one walks past).
-- Under READ COMMITTED concurrent grants of one platform wait for each
-- other's count update, and the SET is evaluated on the row the previous
-- one committed, so the comparison with the last grant is never stale.

-- +goose Up
CREATE TABLE authorization_counts (
    platform_appid TEXT PRIMARY KEY,
    n              BIGINT NOT NULL,
    rev            BIGINT NOT NULL,
    last_created   BIGINT,
    last_appid     TEXT
);
INSERT INTO authorization_counts (platform_appid, n, rev, last_created, last_appid)
    SELECT p.platform_appid, COUNT(*), 0,
        (SELECT created_at FROM authorizations l WHERE l.platform_appid = p.platform_appid
            ORDER BY created_at DESC, authorizer_appid DESC LIMIT 1),
        (SELECT authorizer_appid FROM authorizations l WHERE l.platform_appid = p.platform_appid
            ORDER BY created_at DESC, authorizer_appid DESC LIMIT 1)
    FROM authorizations p GROUP BY p.platform_appid;

-- +goose StatementBegin
CREATE FUNCTION authorizations_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT platform_appid, COUNT(*) AS n FROM inserted GROUP BY platform_appid ORDER BY platform_appid LOOP
        INSERT INTO authorization_counts (platform_appid, n, rev) VALUES (r.platform_appid, 0, 0)
            ON CONFLICT (platform_appid) DO NOTHING;
        UPDATE authorization_counts c SET n = c.n + r.n,
            rev = c.rev + CASE WHEN (lo.created_at, lo.authorizer_appid) < (c.last_created, c.last_appid) THEN 1 ELSE 0 END,
            last_created = CASE WHEN c.last_created IS NULL OR (hi.created_at, hi.authorizer_appid) > (c.last_created, c.last_appid)
                THEN hi.created_at ELSE c.last_created END,
            last_appid = CASE WHEN c.last_created IS NULL OR (hi.created_at, hi.authorizer_appid) > (c.last_created, c.last_appid)
                THEN hi.authorizer_appid ELSE c.last_appid END
        FROM (SELECT created_at, authorizer_appid FROM inserted WHERE platform_appid = r.platform_appid
                ORDER BY created_at, authorizer_appid LIMIT 1) lo,
            (SELECT created_at, authorizer_appid FROM inserted WHERE platform_appid = r.platform_appid
                ORDER BY created_at DESC, authorizer_appid DESC LIMIT 1) hi
        WHERE c.platform_appid = r.platform_appid;
    END LOOP;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION authorizations_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE authorization_counts c SET n = c.n - d.n, rev = c.rev + 1
        FROM (SELECT platform_appid, COUNT(*) AS n FROM deleted GROUP BY platform_appid) d
        WHERE c.platform_appid = d.platform_appid;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER authorizations_count_insert AFTER INSERT ON authorizations
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION authorizations_count_insert();
CREATE TRIGGER authorizations_count_delete AFTER DELETE ON authorizations
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION authorizations_count_delete();

-- +goose Down
DROP TRIGGER authorizations_count_delete ON authorizations;
DROP TRIGGER authorizations_count_insert ON authorizations;
DROP FUNCTION authorizations_count_delete();
DROP FUNCTION authorizations_count_insert();
DROP TABLE authorization_counts;
