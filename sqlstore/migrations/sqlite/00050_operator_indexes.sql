-- +goose Up
-- The console searches mini programs by nickname prefix (a range scan on
-- this index) and pages through them by appid (the primary key).
CREATE INDEX authorizers_nickname ON authorizers (nickname, appid);

-- +goose Down
DROP INDEX authorizers_nickname;
