package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// tx implements miniship.Tx. The entity files (platform.go, authorizer.go,
// …) hold its methods, one file per group of tables, each with its column
// list, scan function and queries together.
type tx struct {
	ctx   context.Context // every statement runs under the transaction's context
	tx    *sql.Tx         // nil in Read and UpdateOne, whose statements run on db, each on its own
	db    *sql.DB
	one   bool // UpdateOne: a single statement
	ran   bool // UpdateOne: the statement ran
	d     *dialect
	write bool  // inside Update: reads may lock rows
	err   error // the first failed statement; the transaction is spent after it

	stmts  *stmtCache // the pool's prepared statements
	missed []string   // queries run unprepared, to prepare after the transaction

	reads *readCombiner // Read on PostgreSQL: hot reads share statements

	// stale: a statement may have changed what the read cache keeps, so
	// the write waits for the cache barrier after its commit (PostgreSQL).
	stale bool
}

var _ miniship.Tx = (*tx)(nil)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// fail records a failed statement and maps it to the store's errors.
func (t *tx) fail(q string, err error) error {
	if q = strings.Join(strings.Fields(q), " "); len(q) > 60 {
		q = q[:60] + "…"
	}
	switch t.d.classify(err) {
	case errUnique:
		err = fmt.Errorf("sqlstore: %s: %w (%w)", q, miniship.ErrConflict, err)
	case errForeignKey:
		err = fmt.Errorf("sqlstore: %s: referenced row %w (%w)", q, miniship.ErrNotFound, err)
	default:
		err = fmt.Errorf("sqlstore: %s: %w", q, err)
	}
	if t.err == nil {
		t.err = err
	}
	return err
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	if t.err != nil {
		return nil, t.err
	}
	res, err := t.execContext(q, args)
	if err != nil {
		return nil, t.fail(q, err)
	}
	return res, nil
}

// affect runs a statement that must touch a row, and ErrNotFound when it
// touched none; with ON CONFLICT DO NOTHING, none means ErrConflict instead.
func (t *tx) affect(none error, q string, args ...any) error {
	res, err := t.exec(q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail(q, err)
	}
	if n == 0 {
		return none
	}
	return nil
}

// insertID runs an INSERT … RETURNING id (on SQLite without the
// RETURNING: see rowidInsert). An upsert keeps its RETURNING: the id of a
// row it updated is not the last inserted rowid.
func (t *tx) insertID(q string, args ...any) (int64, error) {
	if t.d.rowidInsert && !strings.Contains(q, "ON CONFLICT") {
		if q, ok := strings.CutSuffix(strings.TrimRight(q, " \t\n"), "RETURNING id"); ok {
			return t.insertRowID(q, args)
		}
	}
	var id int64
	err := t.row(q, args, &id)
	return id, err
}

// insertRowID runs an INSERT on SQLite and returns its rowid; ErrNotFound
// if it inserted nothing (an INSERT … SELECT that selected no row).
func (t *tx) insertRowID(q string, args []any) (int64, error) {
	res, err := t.exec(q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.fail(q, err)
	}
	if n == 0 {
		return 0, miniship.ErrNotFound
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, t.fail(q, err)
	}
	return id, nil
}

// row scans the single row a query returns into dest; ErrNotFound if none.
func (t *tx) row(q string, args []any, dest ...any) error {
	if t.err != nil {
		return t.err
	}
	if err := t.allow(q); err != nil {
		return t.fail(q, err)
	}
	err := t.queryRowContext(q, args).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return miniship.ErrNotFound
	}
	if err != nil {
		return t.fail(q, err)
	}
	return nil
}

// one returns the single row a query selects, scanned by scan.
func one[T any](t *tx, scan func(scanner, *T) error, q string, args ...any) (*T, error) {
	if t.err != nil {
		return nil, t.err
	}
	if err := t.allow(q); err != nil {
		return nil, t.fail(q, err)
	}
	v := new(T)
	err := scan(t.queryRowContext(q, args), v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, miniship.ErrNotFound
	}
	if err != nil {
		return nil, t.fail(q, err)
	}
	return v, nil
}

// all returns every row a query selects, scanned by scan: an empty, non-nil
// slice when there are none, so lists encode as [] rather than null.
func all[T any](t *tx, scan func(scanner, *T) error, q string, args ...any) ([]*T, error) {
	if t.err != nil {
		return nil, t.err
	}
	rows, err := t.queryContext(q, args)
	if err != nil {
		return nil, t.fail(q, err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v := new(T)
		if err := scan(rows, v); err != nil {
			return nil, t.fail(q, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(q, err)
	}
	return out, nil
}

// limit appends a LIMIT clause; limit <= 0 means no limit.
func limit(q string, args []any, n int) (string, []any) {
	if n <= 0 {
		return q, args
	}
	return q + " LIMIT ?", append(args, n)
}

// --- column codecs ----------------------------------------------------------
//
// Each type is both the argument (driver.Valuer) and the scan destination
// (sql.Scanner) of a column kind, so a field is written and read by the
// same rule: nanos(x.At) as an argument, (*nanos)(&x.At) to scan.

// nanos is a time stored as Unix nanoseconds (UTC): exact on both backends
// and compared as an integer by shared SQL. The zero time is math.MinInt64,
// so it round-trips and sorts before every other time, as time.Time.Before
// has it. Times outside 1678–2262 are refused rather than wrapped.
type nanos time.Time

var (
	minNanos = time.Unix(0, math.MinInt64+1)
	maxNanos = time.Unix(0, math.MaxInt64)
)

func (n nanos) Value() (driver.Value, error) {
	t := time.Time(n)
	if t.IsZero() {
		return int64(math.MinInt64), nil
	}
	if t.Before(minNanos) || t.After(maxNanos) {
		return nil, fmt.Errorf("sqlstore: time %v outside the storable range", t)
	}
	return t.UnixNano(), nil
}

func (n *nanos) Scan(src any) error {
	v, ok := src.(int64)
	switch {
	case !ok:
		return fmt.Errorf("sqlstore: time column holds %T", src)
	case v == math.MinInt64:
		*n = nanos{}
	default:
		*n = nanos(time.Unix(0, v).UTC())
	}
	return nil
}

// jsonText is a value stored as JSON text; p points at it. A nil slice is
// NULL and an empty one [], so each reads back as it was written.
type jsonText struct{ p any }

func (j jsonText) Value() (driver.Value, error) {
	b, err := json.Marshal(j.p)
	if err != nil || string(b) == "null" {
		return nil, err
	}
	return string(b), nil
}

func (j jsonText) Scan(src any) error {
	switch s := src.(type) {
	case nil:
		return nil
	case string:
		return json.Unmarshal([]byte(s), j.p)
	case []byte:
		return json.Unmarshal(s, j.p)
	}
	return fmt.Errorf("sqlstore: JSON column holds %T", src)
}

// rawJSON is a json.RawMessage stored verbatim as text; nil is NULL.
type rawJSON struct{ p *json.RawMessage }

func (r rawJSON) Value() (driver.Value, error) {
	if *r.p == nil {
		return nil, nil
	}
	return string(*r.p), nil
}

func (r rawJSON) Scan(src any) error {
	b, err := bytesOf(src)
	*r.p = b
	return err
}

// blob is a []byte stored as BLOB/BYTEA; nil is NULL, empty is empty.
type blob struct{ p *[]byte }

func (b blob) Value() (driver.Value, error) {
	if *b.p == nil {
		return nil, nil
	}
	return *b.p, nil
}

func (b blob) Scan(src any) error {
	v, err := bytesOf(src)
	*b.p = v
	return err
}

// bytesOf copies a scanned text or blob (the driver may reuse its buffer);
// NULL is nil, and an empty value a non-nil empty slice.
func bytesOf(src any) ([]byte, error) {
	switch s := src.(type) {
	case nil:
		return nil, nil
	case string:
		return append([]byte{}, s...), nil
	case []byte:
		return append([]byte{}, s...), nil
	}
	return nil, fmt.Errorf("sqlstore: byte column holds %T", src)
}
