package rollout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run (--report writes it as JSON).
type Report struct {
	TemplateID  int64  `json:"template_id"`
	UserVersion string `json:"user_version"`
	Run         int64  `json:"run"`
	Span
	Interrupted bool        `json:"interrupted"`
	Apps        int         `json:"apps"`
	Succeeded   int         `json:"succeeded"`
	Failed      int         `json:"failed"`
	Pending     int         `json:"pending"`
	Steps       []StepCount `json:"steps"`
	Failures    []Failure   `json:"failures"`
	// Outcomes is every app of the run, in target order; nil with
	// Config.LeanReport (State.WriteReport then reads them from the file).
	Outcomes []Outcome `json:"outcomes"`
}

// Span is when a run, or a dry run, started and finished.
type Span struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Seconds    float64   `json:"seconds"`
}

func (s *Span) finish() {
	s.FinishedAt = time.Now()
	s.Seconds = s.FinishedAt.Sub(s.StartedAt).Seconds()
}

// Outcome is where one app stands after the run.
type Outcome struct {
	AppID  string `json:"appid"`
	Status string `json:"status"` // done, failed, pending
	// Done is the last step completed ("none" before the commit).
	Done    string `json:"done"`
	AuditID int64  `json:"auditid,omitempty"`
	Code    int    `json:"errcode,omitempty"`
	Msg     string `json:"errmsg,omitempty"`
}

// OK reports whether every app completed the plan.
func (r *Report) OK() bool { return !r.Interrupted && r.Apps > 0 && r.Succeeded == r.Apps }

func (s *State) report(ctx context.Context, p *Plan, started time.Time, lean bool) (*Report, error) {
	r := &Report{TemplateID: p.Template.ID, UserVersion: p.UserVersion, Run: s.run, Span: Span{StartedAt: started}, Failures: []Failure{}}
	var err error
	if r.Apps, r.Steps, err = s.counts(ctx, p.steps); err != nil {
		return nil, err
	}
	err = s.db.QueryRowContext(ctx, `SELECT count(CASE WHEN status='done' THEN 1 END), count(CASE WHEN status='failed' THEN 1 END)
		FROM apps WHERE run=?`, s.run).Scan(&r.Succeeded, &r.Failed)
	if err != nil {
		return nil, err
	}
	r.Pending = r.Apps - r.Succeeded - r.Failed
	err = s.failures(ctx, p, func(f Failure) error {
		r.Failures = append(r.Failures, f)
		return nil
	})
	if err == nil && !lean {
		err = s.outcomes(ctx, func(o Outcome) error {
			r.Outcomes = append(r.Outcomes, o)
			return nil
		})
		if r.Outcomes == nil {
			r.Outcomes = []Outcome{}
		}
	}
	r.finish()
	return r, err
}

// outcomes streams the run's apps in target order.
func (s *State) outcomes(ctx context.Context, fn func(Outcome) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT appid, status, done, auditid, errcode, errmsg FROM apps WHERE run=? ORDER BY seq`, s.run)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o Outcome
		var done Step
		if err := rows.Scan(&o.AppID, &o.Status, &done, &o.AuditID, &o.Code, &o.Msg); err != nil {
			return err
		}
		o.Done = done.String()
		if o.Status == "done" {
			o.Code, o.Msg = 0, ""
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// WriteReport writes r as WriteJSON does; a report of a LeanReport run
// gets its outcomes streamed from the file, one at a time, so writing it
// takes no memory that grows with the fleet.
func (s *State) WriteReport(ctx context.Context, w io.Writer, r *Report) error {
	if r.Outcomes != nil {
		return r.WriteJSON(w)
	}
	head := *r
	head.Outcomes = []Outcome{}
	var b bytes.Buffer
	if err := head.WriteJSON(&b); err != nil {
		return err
	}
	// The head ends with the empty list: `"outcomes": []` and the closing
	// brace. The outcomes go in between, indented as WriteJSON's.
	const tail = "[]\n}\n"
	out := bufio.NewWriter(w)
	out.Write(bytes.TrimSuffix(b.Bytes(), []byte(tail)))
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	n := 0
	err := s.outcomes(ctx, func(o Outcome) error {
		b.Reset()
		if err := enc.Encode(o); err != nil {
			return err
		}
		sep := ",\n    "
		if n == 0 {
			sep = "[\n    "
		}
		n++
		out.WriteString(sep)
		_, err := out.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		out.WriteString(tail)
	} else {
		out.WriteString("\n  ]\n}\n")
	}
	return out.Flush()
}

// WriteJSON writes the report, indented.
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// PrintSummary writes the per-step table and up to maxFailures failures.
func (r *Report) PrintSummary(w io.Writer, maxFailures int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tDONE\tFAILED\tPENDING")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", s.Step, s.Done, byCode(s.Failed), s.Pending)
	}
	tw.Flush()
	state := "finished"
	if r.Interrupted {
		state = "interrupted"
	}
	fmt.Fprintf(w, "\n%s in %.1fs: %d apps, %d succeeded, %d failed, %d pending\n",
		state, r.Seconds, r.Apps, r.Succeeded, r.Failed, r.Pending)
	if len(r.Failures) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfailures:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPID\tSTEP\tERRCODE\tERRMSG")
	for i, f := range r.Failures {
		if i == maxFailures {
			fmt.Fprintf(tw, "… %d more (see --report)\n", len(r.Failures)-i)
			break
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.AppID, f.Step, f.Label(), oneLine(f.Msg))
	}
	tw.Flush()
}

// Label is the errcode, or the kind of a failure WeChat did not code.
func (f Failure) Label() string {
	if f.Code != 0 {
		return itoa(f.Code)
	}
	return f.Kind
}

// logAttr is the errcode, or the kind of a failure WeChat did not code: an
// errcode 0 would say success.
func (f Failure) logAttr() slog.Attr {
	if f.Code != 0 {
		return slog.Int("errcode", f.Code)
	}
	return slog.String("kind", f.Kind)
}

// byCode renders {"85009": 2, "-1": 1} as "85009×2 -1×1", largest first.
func byCode(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 120 {
		return string(r[:120]) + "…"
	}
	return s
}
