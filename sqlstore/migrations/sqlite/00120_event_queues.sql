-- The outbox polls every 200 ms for the platforms with due pushes. Grouping
-- the pending events by platform read every one of them (and sorted them)
-- at each poll: a receiver that hangs with 100,000 pushes queued made an
-- idle server spend a sixth of a core on it, and the other tenants' writes
-- wait for the poll on the SQLite writer.
--
-- event_queues keeps one row per platform: how many pushes it has pending,
-- and due_at, a time at or before the next attempt of each of them (NULL
-- when none is pending). Triggers move both in the transaction of every
-- insert, update and delete of a pending event, so they cannot drift from
-- the rows they follow. due_at only ever moves down here: an attempt
-- leased or put back later leaves it early, and the poll, finding nothing
-- due, raises it to the platform's next attempt (sqlstore/push.go). A poll
-- reads the platforms due through event_queues_due and each one's next
-- attempts through events_pending_due, whatever the backlog.
--
-- events_due, the pending events by due time across platforms, goes: a
-- query for one platform's due events could walk it through another
-- platform's backlog, and PostgreSQL's generic plan did, guessing each
-- platform's share of the rows as one over the number of platforms (10 ms
-- a statement behind 100,000 pushes of one of two platforms). Every
-- index on pending events now leads with the platform.
-- +goose Up
CREATE TABLE event_queues (
    platform_appid TEXT PRIMARY KEY,
    pending        INTEGER NOT NULL,
    due_at         INTEGER
) STRICT;
CREATE INDEX event_queues_due ON event_queues (due_at, platform_appid);
CREATE INDEX events_pending_due ON events (platform_appid, next_attempt_at, id) WHERE status = 'pending';
DROP INDEX events_due;
INSERT INTO event_queues (platform_appid, pending, due_at)
    SELECT platform_appid, COUNT(*), MIN(next_attempt_at) FROM events WHERE status = 'pending'
    GROUP BY platform_appid;

-- +goose StatementBegin
CREATE TRIGGER events_queue_insert AFTER INSERT ON events WHEN NEW.status = 'pending' BEGIN
    INSERT INTO event_queues (platform_appid, pending) VALUES (NEW.platform_appid, 0)
        ON CONFLICT (platform_appid) DO NOTHING;
    UPDATE event_queues SET pending = pending + 1,
        due_at = CASE WHEN due_at IS NULL OR NEW.next_attempt_at < due_at THEN NEW.next_attempt_at ELSE due_at END
        WHERE platform_appid = NEW.platform_appid;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER events_queue_delete AFTER DELETE ON events WHEN OLD.status = 'pending' BEGIN
    UPDATE event_queues SET pending = pending - 1, due_at = CASE WHEN pending = 1 THEN NULL ELSE due_at END
        WHERE platform_appid = OLD.platform_appid;
END;
-- +goose StatementEnd

-- An update moves the queues only when an event stops being pending, starts
-- being pending (a resend), changes platform, or becomes due sooner (a
-- retry after a failed attempt, earlier than the lease it had): a lease and
-- an attempt count touch no queue row.
-- +goose StatementBegin
CREATE TRIGGER events_queue_update AFTER UPDATE OF status, platform_appid, next_attempt_at ON events
WHEN OLD.status IS NOT NEW.status OR OLD.platform_appid IS NOT NEW.platform_appid
    OR (NEW.status = 'pending' AND NEW.next_attempt_at < OLD.next_attempt_at) BEGIN
    UPDATE event_queues SET pending = pending - 1, due_at = CASE WHEN pending = 1 THEN NULL ELSE due_at END
        WHERE platform_appid = OLD.platform_appid AND OLD.status = 'pending'
            AND (NEW.status <> 'pending' OR NEW.platform_appid <> OLD.platform_appid);
    INSERT INTO event_queues (platform_appid, pending) SELECT NEW.platform_appid, 0
        WHERE NEW.status = 'pending' ON CONFLICT (platform_appid) DO NOTHING;
    UPDATE event_queues SET
        pending = pending + CASE WHEN OLD.status <> 'pending' OR NEW.platform_appid <> OLD.platform_appid THEN 1 ELSE 0 END,
        due_at = CASE WHEN due_at IS NULL OR NEW.next_attempt_at < due_at THEN NEW.next_attempt_at ELSE due_at END
        WHERE platform_appid = NEW.platform_appid AND NEW.status = 'pending';
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER events_queue_update;
DROP TRIGGER events_queue_delete;
DROP TRIGGER events_queue_insert;
CREATE INDEX events_due ON events (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX events_pending_due;
DROP TABLE event_queues;
