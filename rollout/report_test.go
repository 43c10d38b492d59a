package rollout_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
)

// TestLeanReport: a report whose outcomes are streamed from the state file
// is the same JSON, byte for byte, as the one holding them in memory.
func TestLeanReport(t *testing.T) {
	f := newFleet(t, 3, mstest.Options{})
	p := f.plan(t, `targets: [{appid: wxnorefreshtoken}]`)
	st := openState(t, filepath.Join(f.dir, "s.db"))
	rep, err := rollout.Run(context.Background(), f.config(t, p, st))
	if err != nil || rep.Failed != 1 || len(rep.Outcomes) != 4 {
		t.Fatalf("run: %v, %+v", err, rep)
	}
	var want, got bytes.Buffer
	if err := rep.WriteJSON(&want); err != nil {
		t.Fatal(err)
	}
	lean := *rep
	lean.Outcomes = nil
	if err := st.WriteReport(context.Background(), &got, &lean); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("streamed report:\n%s\nwant:\n%s", got.String(), want.String())
	}
}
