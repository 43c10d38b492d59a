-- A push about a mini program keeps its appid, so that each attempt can go
-- to the platform's message_url as it is then ($APPID$ filled in): a PATCH
-- of the URL applies to the retries (and redeliveries) of pushes already
-- queued. Rows queued before are given the appid of the one mini program
-- with their envelope's original id; where none or several have it, the row
-- keeps '' and goes to the URL it was queued with.
-- +goose Up
ALTER TABLE events ADD COLUMN authorizer_appid TEXT NOT NULL DEFAULT '';
-- One join (original_id has no index): linear in events and authorizers.
UPDATE events SET authorizer_appid = u.appid
FROM (SELECT original_id, MIN(appid) AS appid FROM authorizers GROUP BY original_id HAVING COUNT(*) = 1) u
WHERE events.envelope_kind = 'ToUserName' AND events.envelope_to = u.original_id;

-- +goose Down
-- An attempt that found the platform's URL empty left url = '' on its row;
-- older code retries such a row until it fails.
ALTER TABLE events DROP COLUMN authorizer_appid;
