package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestClockAdvanceRefusals: a value the manual clock cannot apply is a 400
// with a message and leaves the clock (and the stored position) where it
// was; 1e10 seconds overflowed time.Duration and answered a silent 200.
// An applied move is stored, for the next start.
func TestClockAdvanceRefusals(t *testing.T) { mstest.Backends(t, testClockAdvanceRefusals) }

func testClockAdvanceRefusals(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	start := s.Clock.Now()
	post := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", s.URL+"/miniship/v1/clock/advance", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+s.AdminKey)
		return doAdmin(t, req)
	}
	for body, want := range map[string]string{
		`{"seconds":1e10}`:  "at most",
		`{"seconds":-1}`:    "negative",
		`{"seconds":-0.5}`:  "negative",
		`{"seconds":1e400}`: "seconds",
		`{"seconds":NaN}`:   "invalid",
		`{"seconds":"NaN"}`: "seconds",
		`{"seconds":"60"}`:  "seconds",
		`{"seconds":null}`:  "required",
		`{}`:                "required",
		`[]`:                "cannot unmarshal",
		``:                  "EOF",
	} {
		st, m := post(body)
		if msg, _ := m["error"].(string); st != http.StatusBadRequest || !strings.Contains(msg, want) {
			t.Errorf("advance %s: %d %v, want 400 mentioning %q", body, st, m, want)
		}
	}
	if now := s.Clock.Now(); !now.Equal(start) {
		t.Fatalf("refused advances moved the clock to %v", now)
	}
	if _, ok, err := service.StoredClock(context.Background(), s.Store); err != nil || ok {
		t.Fatalf("refused advances stored a position (%v, %v)", ok, err)
	}

	st, m := post(`{"seconds":90.5}`)
	want := start.Add(90500 * time.Millisecond)
	if st != http.StatusOK || m["now"] != want.UTC().Format(time.RFC3339Nano) {
		t.Fatalf("advance 90.5 s: %d %v, want now %v", st, m, want)
	}
	if stored, ok, err := service.StoredClock(context.Background(), s.Store); err != nil || !ok || !stored.Equal(want) {
		t.Fatalf("stored clock %v (%v, %v), want %v", stored, ok, err, want)
	}
}
