package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable prints the results as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tscenario\tops\terrors\tops/s\tp50\tp99\tp99.9\tserver CPU/op\tbench CPU/op\tcost (no-ops)\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.2f\t\n", r.Round, r.Scenario, r.Ops, r.Errors, r.PerSec,
			round2(r.P50), round2(r.P99), round2(r.P999), micros(r.CPUPerOp), micros(r.ClientCPUPerOp), r.Cost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rs {
		if r.FirstErr != "" {
			fmt.Fprintf(w, "round %d %s: %d errors, first: %s\n", r.Round, r.Scenario, r.Errors, r.FirstErr)
		}
	}
	return nil
}

// micros prints a CPU time per operation, "-" when unknown.
func micros(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}
