-- The outbox polls every 200 ms for the platforms with due pushes. Grouping
-- the pending events by platform read every one of them (and sorted them)
-- at each poll: a receiver that hangs with 100,000 pushes queued made every
-- poll read them all.
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
--
-- The triggers are per row, with a WHEN that passes over the updates that
-- move no queue (a lease, an attempt count, a finished event pruned), so
-- those call no function. Under READ COMMITTED, concurrent changes of one
-- platform's pushes wait for each other's queue row, and each SET is
-- evaluated on the row the previous one committed: counts add up, and
-- due_at only goes down. Every change that may lower due_at updates the
-- row, so it holds the row's lock until it commits, even when due_at was
-- earlier already; the poll raises due_at only under that lock, reading
-- the next attempt after it is taken (push.go), so no lowering it did not
-- see is undone.

-- +goose Up
CREATE TABLE event_queues (
    platform_appid TEXT PRIMARY KEY,
    pending        BIGINT NOT NULL,
    due_at         BIGINT
);
CREATE INDEX event_queues_due ON event_queues (due_at, platform_appid);
CREATE INDEX events_pending_due ON events (platform_appid, next_attempt_at, id) WHERE status = 'pending';
DROP INDEX events_due;
INSERT INTO event_queues (platform_appid, pending, due_at)
    SELECT platform_appid, COUNT(*), MIN(next_attempt_at) FROM events WHERE status = 'pending'
    GROUP BY platform_appid;

-- +goose StatementBegin
CREATE FUNCTION events_queue_join(platform TEXT, due BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO event_queues AS q (platform_appid, pending, due_at) VALUES (platform, 1, due)
        ON CONFLICT (platform_appid) DO UPDATE SET pending = q.pending + 1,
            due_at = CASE WHEN q.due_at IS NULL OR due < q.due_at THEN due ELSE q.due_at END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION events_queue_leave(platform TEXT) RETURNS void LANGUAGE sql AS $$
    UPDATE event_queues SET pending = pending - 1, due_at = CASE WHEN pending = 1 THEN NULL ELSE due_at END
        WHERE platform_appid = platform;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION events_queue_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_queue_join(NEW.platform_appid, NEW.next_attempt_at);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION events_queue_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_queue_leave(OLD.platform_appid);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION events_queue_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'pending' AND NEW.status = 'pending' AND OLD.platform_appid = NEW.platform_appid THEN
        -- The row is updated (and locked) even when due_at is earlier
        -- already: a poll that has not seen this event come due sooner
        -- must not raise due_at past it meanwhile.
        UPDATE event_queues
            SET due_at = CASE WHEN due_at IS NULL OR NEW.next_attempt_at < due_at THEN NEW.next_attempt_at ELSE due_at END
            WHERE platform_appid = NEW.platform_appid;
        RETURN NULL;
    END IF;
    IF OLD.status = 'pending' THEN
        PERFORM events_queue_leave(OLD.platform_appid);
    END IF;
    IF NEW.status = 'pending' THEN
        PERFORM events_queue_join(NEW.platform_appid, NEW.next_attempt_at);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER events_queue_insert AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION events_queue_insert();
CREATE TRIGGER events_queue_delete AFTER DELETE ON events
    FOR EACH ROW WHEN (OLD.status = 'pending') EXECUTE FUNCTION events_queue_delete();
-- An update moves the queues only when an event stops being pending, starts
-- being pending (a resend), changes platform, or becomes due sooner (a
-- retry after a failed attempt, earlier than the lease it had).
CREATE TRIGGER events_queue_update AFTER UPDATE ON events
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.platform_appid IS DISTINCT FROM NEW.platform_appid
        OR (NEW.status = 'pending' AND NEW.next_attempt_at < OLD.next_attempt_at))
    EXECUTE FUNCTION events_queue_update();

-- +goose Down
DROP TRIGGER events_queue_update ON events;
DROP TRIGGER events_queue_delete ON events;
DROP TRIGGER events_queue_insert ON events;
DROP FUNCTION events_queue_update();
DROP FUNCTION events_queue_delete();
DROP FUNCTION events_queue_insert();
DROP FUNCTION events_queue_leave(TEXT);
DROP FUNCTION events_queue_join(TEXT, BIGINT);
CREATE INDEX events_due ON events (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX events_pending_due;
DROP TABLE event_queues;
