-- +goose Up
-- The console searches mini programs by nickname prefix (a range scan on
-- this index) and pages through them by appid (the primary key). COLLATE
-- "C" orders by bytes, as SQLite does, so a prefix is one contiguous range
-- whatever the database's collation.
CREATE INDEX authorizers_nickname ON authorizers ((nickname COLLATE "C"), appid);
CREATE INDEX authorizers_appid_c ON authorizers ((appid COLLATE "C"));

-- +goose Down
DROP INDEX authorizers_appid_c;
DROP INDEX authorizers_nickname;
