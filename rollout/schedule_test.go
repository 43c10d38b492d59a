package rollout

import (
	"testing"
	"time"
)

// TestScheduleOrderAndWaits: due apps under way come before new ones,
// waiting apps stay until their time, and the summary groups them by step
// and wait with the earliest next check.
func TestScheduleOrderAndWaits(t *testing.T) {
	p, err := ParsePlan([]byte("template: {id: 1}\nuser_version: \"1\"\next_json: '{}'\ntargets: [{appid: a}]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_000_000, 0)
	s := &schedule{}
	s.push(&app{ID: "new1", Seq: 1})
	s.push(&app{ID: "new2", Seq: 2})
	s.push(&app{ID: "audit1", Seq: 3, Done: StepSubmitAudit, Wait: WaitAudit, NextAt: now.Add(time.Minute)})
	s.push(&app{ID: "audit2", Seq: 4, Done: StepSubmitAudit, Wait: WaitAudit, NextAt: now.Add(30 * time.Second)})
	s.push(&app{ID: "scan", Seq: 5, Done: StepCommit, Wait: WaitScan, NextAt: now.Add(time.Second)})
	s.push(&app{ID: "due", Seq: 6, Done: StepCommit, NextAt: now.Add(-time.Second)})

	want := []Waiting{
		{Step: StepPrivacyScan, What: WaitScan, Apps: 1, Next: now.Add(time.Second)},
		{Step: StepWaitAudit, What: WaitAudit, Apps: 2, Next: now.Add(30 * time.Second)},
	}
	got := s.waits(p, now)
	if len(got) != len(want) {
		t.Fatalf("waits %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("waits[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	var order []string
	for a := s.pop(now); a != nil; a = s.pop(now) {
		order = append(order, a.ID)
	}
	if w := []string{"due", "new1", "new2"}; len(order) != 3 || order[0] != w[0] || order[1] != w[1] || order[2] != w[2] {
		t.Fatalf("due now: %v, want %v", order, w)
	}
	if w := s.wake(); !w.Equal(now.Add(time.Second)) {
		t.Fatalf("wake %v, want the scan's check", w)
	}
	if a := s.pop(now.Add(45 * time.Second)); a == nil || a.ID != "scan" {
		t.Fatalf("at +45s: %+v, want scan first", a)
	}
}

// TestBackoff: polls come one interval apart until the second "not yet",
// then 2, then at most 4.
func TestBackoff(t *testing.T) {
	for misses, want := range []time.Duration{1, 1, 2, 4, 4, 4} {
		if got := backoff(misses); got != want {
			t.Errorf("backoff(%d) = %d, want %d", misses, got, want)
		}
	}
}
