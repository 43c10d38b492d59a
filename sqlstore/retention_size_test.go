package sqlstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// TestRetentionDatabaseSize measures the SQLite file after 100,000
// commits (versions with a 2 KB effective app.json, 100 mini programs,
// 1,000 a day for 100 days), pruning once a simulated day with 30 days of
// history, against no pruning. It takes about 90 s, so it runs only on
// request:
//
//	MINISHIP_MEASURE_RETENTION=1 go test -run TestRetentionDatabaseSize -v ./sqlstore
func TestRetentionDatabaseSize(t *testing.T) {
	if os.Getenv("MINISHIP_MEASURE_RETENTION") == "" {
		t.Skip("set MINISHIP_MEASURE_RETENTION=1 to measure")
	}
	for _, retain := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "size.db")
		s, err := OpenSQLite(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		app := []byte(`{"pages":["index"],"pad":"` + strings.Repeat("x", 2000) + `"}`)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		const days, perDay = 100, 1000
		for d := range days {
			day := start.Add(time.Duration(d) * 24 * time.Hour)
			update(t, s, func(tx miniship.Tx) error {
				for i := range perDay {
					v := &miniship.Version{AuthorizerAppID: fmt.Sprintf("wx%03d", i%100), App: app, Pages: []byte(`{}`),
						Ext: []byte(`null`), CreatedAt: day.Add(time.Duration(i) * time.Second)}
					if err := tx.CreateVersion(v); err != nil {
						return err
					}
				}
				return nil
			})
			if retain {
				for {
					var n int64
					update(t, s, func(tx miniship.Tx) (err error) {
						n, err = tx.PruneVersions(day.Add(-30*24*time.Hour), 0, 500) // the age alone
						return err
					})
					if n < 500 {
						break
					}
				}
			}
		}
		var rows int64
		view(t, s, func(tx miniship.Tx) error {
			sizes, err := tx.TableSizes()
			rows = sizes["versions"]
			return err
		})
		s.Close()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("retention %v: %d versions kept, database file %.1f MB", retain, rows, float64(fi.Size())/1e6)
	}
}
