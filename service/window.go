package service

import (
	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// takeWindow is take for a limit per period (a minute, a day) in two
// counters of fixed names, key+":w" (the period) and key+":n" (the count
// in it), so a caller keeps two rows however many periods it calls in; a
// counter named per period would add a row each period, forever. The
// first upsert locks the period row, which serialises concurrent takes of
// the same key; a failed take rolls back with the caller's transaction.
func takeWindow(tx miniship.Tx, key string, period int64, limit int, code wxerr.Code, detail string) error {
	w, err := tx.AddCounter(key+":w", 0)
	if err != nil {
		return err
	}
	n, err := tx.AddCounter(key+":n", 1)
	if err != nil {
		return err
	}
	if int64(w) != period {
		// A new period: restart the count at this call.
		if _, err := tx.AddCounter(key+":w", int(period-int64(w))); err != nil {
			return err
		}
		if n, err = tx.AddCounter(key+":n", 1-n); err != nil {
			return err
		}
	}
	if n > limit {
		return wxerr.New(code, detail)
	}
	return nil
}
