package sqlstore

import "github.com/miniship/miniship"

// --- counters -------------------------------------------------------------

// AddCounter adds in one atomic upsert: concurrent transactions add up
// without a lost update, and no read-then-write window exists to lock.
func (t *tx) AddCounter(key string, delta int) (int, error) {
	var n int
	err := t.row(`INSERT INTO counters (name, n) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET n = counters.n + excluded.n RETURNING n`,
		[]any{key, delta}, &n)
	return n, err
}

// GetCounter returns the counter's value; ErrNotFound (with 0) when nothing
// was ever added to it.
func (t *tx) GetCounter(key string) (int, error) {
	var n int
	err := t.row(`SELECT n FROM counters WHERE name = ?`, []any{key}, &n)
	return n, err
}

// --- media ----------------------------------------------------------------

// PutMedia stores an upload, replacing one with the same id.
func (t *tx) PutMedia(m *miniship.Media) error {
	_, err := t.exec(`INSERT INTO media (id, authorizer_appid, type, data, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET
		authorizer_appid = excluded.authorizer_appid, type = excluded.type, data = excluded.data,
		created_at = excluded.created_at`,
		m.ID, m.AuthorizerAppID, m.Type, blob{&m.Data}, nanos(m.CreatedAt))
	return err
}

func (t *tx) GetMedia(id string) (*miniship.Media, error) {
	return one(t, func(r scanner, m *miniship.Media) error {
		return r.Scan(&m.ID, &m.AuthorizerAppID, &m.Type, blob{&m.Data}, (*nanos)(&m.CreatedAt))
	}, `SELECT id, authorizer_appid, type, data, created_at FROM media WHERE id = ?`, id)
}
