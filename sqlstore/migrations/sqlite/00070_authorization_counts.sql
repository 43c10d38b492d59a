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

-- +goose Up
CREATE TABLE authorization_counts (
    platform_appid TEXT PRIMARY KEY,
    n              INTEGER NOT NULL,
    rev            INTEGER NOT NULL,
    last_created   INTEGER,
    last_appid     TEXT
) STRICT;
INSERT INTO authorization_counts (platform_appid, n, rev, last_created, last_appid)
    SELECT p.platform_appid, COUNT(*), 0,
        (SELECT created_at FROM authorizations l WHERE l.platform_appid = p.platform_appid
            ORDER BY created_at DESC, authorizer_appid DESC LIMIT 1),
        (SELECT authorizer_appid FROM authorizations l WHERE l.platform_appid = p.platform_appid
            ORDER BY created_at DESC, authorizer_appid DESC LIMIT 1)
    FROM authorizations p GROUP BY p.platform_appid;

-- +goose StatementBegin
CREATE TRIGGER authorizations_count_insert AFTER INSERT ON authorizations BEGIN
    INSERT INTO authorization_counts (platform_appid, n, rev) VALUES (NEW.platform_appid, 0, 0)
        ON CONFLICT (platform_appid) DO NOTHING;
    UPDATE authorization_counts SET n = n + 1,
        rev = rev + CASE WHEN (NEW.created_at, NEW.authorizer_appid) < (last_created, last_appid) THEN 1 ELSE 0 END,
        last_created = CASE WHEN last_created IS NULL OR (NEW.created_at, NEW.authorizer_appid) > (last_created, last_appid)
            THEN NEW.created_at ELSE last_created END,
        last_appid = CASE WHEN last_created IS NULL OR (NEW.created_at, NEW.authorizer_appid) > (last_created, last_appid)
            THEN NEW.authorizer_appid ELSE last_appid END
        WHERE platform_appid = NEW.platform_appid;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER authorizations_count_delete AFTER DELETE ON authorizations BEGIN
    UPDATE authorization_counts SET n = n - 1, rev = rev + 1 WHERE platform_appid = OLD.platform_appid;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER authorizations_count_delete;
DROP TRIGGER authorizations_count_insert;
DROP TABLE authorization_counts;
