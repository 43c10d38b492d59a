-- +goose Up
-- The read cache's protocol (sqlstore/cachepeer.go): every server that
-- caches is a row here, with the last barrier it has seen and its lease.
-- A write that changed a cached row waits until every peer whose lease
-- runs has seen a barrier drawn after its commit. Barriers and peers are
-- numbered by transaction ids (txid_current), which grow with time and
-- need no privilege, unlike a sequence.
CREATE TABLE cache_peers (
    id          BIGINT PRIMARY KEY,
    acked       BIGINT NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL
);

-- The triggers notify what the cache keeps, on the schema's channel
-- ('miniship_cache_' and 16 hex digits of the md5 of the schema's name),
-- and mark the transaction (miniship.cache_dirty) so that its writer
-- waits for the barrier only when something kept did change.
-- +goose StatementBegin
CREATE FUNCTION miniship_cache_grant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('miniship.cache_dirty', '1', true);
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('miniship_cache_' || left(md5(TG_TABLE_SCHEMA), 16),
            'g ' || OLD.platform_appid || ' ' || OLD.authorizer_appid);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('miniship_cache_' || left(md5(TG_TABLE_SCHEMA), 16),
            'g ' || NEW.platform_appid || ' ' || NEW.authorizer_appid);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- A mini program's categories ('c', keyed by appid) and an audit ('a', by
-- id): the trigger's arguments name the kind and the key's column.
-- +goose StatementBegin
CREATE FUNCTION miniship_cache_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('miniship.cache_dirty', '1', true);
    PERFORM pg_notify('miniship_cache_' || left(md5(TG_TABLE_SCHEMA), 16),
        TG_ARGV[0] || ' ' || (to_jsonb(OLD) ->> TG_ARGV[1]));
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Rows inserted change nothing kept (the cache keeps only rows it found);
-- an upsert that updates fires the UPDATE trigger.
CREATE TRIGGER authorizations_cache AFTER UPDATE OR DELETE ON authorizations
    FOR EACH ROW EXECUTE FUNCTION miniship_cache_grant();
CREATE TRIGGER authorizers_cache AFTER UPDATE ON authorizers
    FOR EACH ROW WHEN (OLD.categories IS DISTINCT FROM NEW.categories OR OLD.appid <> NEW.appid)
    EXECUTE FUNCTION miniship_cache_row('c', 'appid');
CREATE TRIGGER authorizers_cache_delete AFTER DELETE ON authorizers
    FOR EACH ROW EXECUTE FUNCTION miniship_cache_row('c', 'appid');
CREATE TRIGGER audits_cache AFTER UPDATE ON audits
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.reason IS DISTINCT FROM NEW.reason
        OR OLD.screenshot IS DISTINCT FROM NEW.screenshot OR OLD.authorizer_appid <> NEW.authorizer_appid
        OR OLD.id <> NEW.id)
    EXECUTE FUNCTION miniship_cache_row('a', 'id');
CREATE TRIGGER audits_cache_delete AFTER DELETE ON audits
    FOR EACH ROW EXECUTE FUNCTION miniship_cache_row('a', 'id');

-- +goose Down
DROP TRIGGER audits_cache_delete ON audits;
DROP TRIGGER audits_cache ON audits;
DROP TRIGGER authorizers_cache_delete ON authorizers;
DROP TRIGGER authorizers_cache ON authorizers;
DROP TRIGGER authorizations_cache ON authorizations;
DROP FUNCTION miniship_cache_row();
DROP FUNCTION miniship_cache_grant();
DROP TABLE cache_peers;
