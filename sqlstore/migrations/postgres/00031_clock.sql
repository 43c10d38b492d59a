-- The manual clock's position (one row), kept across restarts.

-- +goose Up
CREATE TABLE manual_clock (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    now BIGINT NOT NULL
);

-- +goose Down
DROP TABLE manual_clock;
