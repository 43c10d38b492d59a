-- +goose Up
-- PostgreSQL's 00130 adds the read cache's protocol between servers; a
-- SQLite database has one server and no read cache. The version is kept
-- so that both dialects number their schemas alike.
SELECT 1;

-- +goose Down
SELECT 1;
