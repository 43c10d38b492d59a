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
	fmt.Fprintln(tw, "round\tscenario\tops\terrors\tops/s\tp50\tp99\tp99.9\tserver CPU/op\tcost (no-ops)\t")
	for _, r := range rs {
		cpu := "-"
		if r.CPUPerOp > 0 {
			cpu = fmt.Sprintf("%.0fµs", float64(r.CPUPerOp)/float64(time.Microsecond))
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%.2f\t\n", r.Round, r.Scenario, r.Ops, r.Errors, r.PerSec,
			round2(r.P50), round2(r.P99), round2(r.P999), cpu, r.Cost)
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
