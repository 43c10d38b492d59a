package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the results as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tscenario\tops\terrors\tops/s\tp50\tp99\tp99.9\tserver CPU/op\tbench CPU/op\tcost (no-ops)\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Round, r.Scenario, r.Ops, r.Errors, r.PerSec,
			round2(r.P50), round2(r.P99), round2(r.P999), micros(r.CPUPerOp), micros(r.ClientCPUPerOp), costText(r.Cost))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	unknown := false
	for _, r := range rs {
		if r.FirstErr != "" {
			fmt.Fprintf(w, "round %d %s: %d errors, first: %s\n", r.Round, r.Scenario, r.Errors, r.FirstErr)
		}
		if r.Warning != "" {
			fmt.Fprintf(w, "round %d %s: %s\n", r.Round, r.Scenario, r.Warning)
		}
		unknown = unknown || r.Cost == 0
	}
	if unknown {
		fmt.Fprintln(w, "cost -: the open loop divides server CPU, unknown without the server's pid (--server-pid) or under 0.2 s of it in a window (raise --rate or -d)")
	}
	if m := Medians(rs); len(m) > 0 && rs[len(rs)-1].Round > 1 {
		parts := make([]string, len(m))
		for i, c := range m {
			parts[i] = fmt.Sprintf("%s %.2f (%d rounds)", c.Scenario, c.Cost, c.Rounds)
		}
		fmt.Fprintf(w, "median cost in no-ops: %s\n", strings.Join(parts, ", "))
	}
	return nil
}

// ScenarioCost is a scenario's median cost over the rounds of a run that
// measured one.
type ScenarioCost struct {
	Scenario string
	Cost     float64
	Rounds   int
}

// Medians is each scenario's median cost over the rounds, in the order
// the scenarios ran, the no-op left out: a round's costs move with its
// no-op's rate, which is not steady from one server process to the next.
func Medians(rs []Result) []ScenarioCost {
	var order []string
	costs := map[string][]float64{}
	for _, r := range rs {
		if r.Scenario == "noop" || r.Cost <= 0 { // no cost measured (no server CPU in the open loop)
			continue
		}
		if _, ok := costs[r.Scenario]; !ok {
			order = append(order, r.Scenario)
		}
		costs[r.Scenario] = append(costs[r.Scenario], r.Cost)
	}
	out := make([]ScenarioCost, len(order))
	for i, name := range order {
		c := costs[name]
		slices.Sort(c)
		m := c[len(c)/2]
		if len(c)%2 == 0 {
			m = (c[len(c)/2-1] + m) / 2
		}
		out[i] = ScenarioCost{name, m, len(c)}
	}
	return out
}

// costText prints a cost, "-" when unknown.
func costText(c float64) string {
	if c <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", c)
}

// micros prints a CPU time per operation, "-" when unknown.
func micros(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}
