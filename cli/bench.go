package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/miniship/miniship/bench"
)

func init() { commands = append(commands, newBenchCmd) }

func newBenchCmd() *cobra.Command {
	var (
		cfg       bench.Config
		scenarios string
		database  string
		serverBin string
		serveArgs []string
		fleet     int
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a server: no-op, read, commit, submit_audit and release life, as multiples of the no-op",
		Long: `Measure a miniship server from outside, as pgbench does a database. bench
creates its own platform, template and mini programs, then runs each scenario
(` + strings.Join(bench.Scenarios, ", ") + `) and reports its throughput,
p50/p99/p99.9 latency and its cost in no-op calls measured in the same round.

Without --base-url it starts a temporary server (this binary's serve, in its
own process, on SQLite or --database) and stops it afterwards; it then also
reports the server's CPU time per operation. --rate switches from the closed
loop (--concurrency clients back to back) to an open loop paced by vegeta.
--fleet N first fills the temporary server's database with N mini programs
of another platform (a million take from seconds to two minutes), so the
costs are those of a server of that size.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if scenarios != "" {
				cfg.Scenarios = strings.Split(scenarios, ",")
			}
			if fleet < 0 || fleet > bench.MaxFleet {
				return fmt.Errorf("--fleet %d: from 0 to %d (the fleet's appids have eight digits)", fleet, bench.MaxFleet)
			}
			// Zero would mean bench's default to the library, not what
			// whoever typed it asked for.
			switch {
			case cfg.Concurrency < 1:
				return fmt.Errorf("--concurrency %d: want at least 1", cfg.Concurrency)
			case cfg.Rounds < 1:
				return fmt.Errorf("--rounds %d: want at least 1", cfg.Rounds)
			case cfg.Duration <= 0:
				return fmt.Errorf("--duration %s: want more than 0", cfg.Duration)
			case cfg.Warmup < 0:
				return fmt.Errorf("--warmup %s: want 0 or more", cfg.Warmup)
			case cfg.Rate < 0 || cfg.Rate > bench.MaxRate:
				return fmt.Errorf("--rate %d: want 0 (closed loop) to %d requests per second", cfg.Rate, bench.MaxRate)
			case cfg.Apps < 0 || (cfg.Apps > 0 && cfg.Apps < cfg.Concurrency):
				return fmt.Errorf("--apps %d: want 0 (one per client) or at least --concurrency (%d)", cfg.Apps, cfg.Concurrency)
			}
			// Before a temporary server starts for nothing.
			if err := cfg.Validate(); err != nil {
				return err
			}
			if cfg.BaseURL == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				if serverBin != "" {
					exe = serverBin
				}
				srv, err := bench.StartServer(ctx, bench.ServerConfig{Exe: exe, Database: database, Extra: serveArgs, Fleet: fleet, Log: errw})
				if err != nil {
					return fmt.Errorf("temporary server: %w", err)
				}
				defer srv.Stop()
				cfg.BaseURL, cfg.AdminKey = srv.URL, srv.AdminKey
				if cfg.ServerPID == 0 {
					cfg.ServerPID = srv.PID
				}
				fmt.Fprintf(errw, "temporary server pid %d at %s\n", srv.PID, srv.URL)
			} else if fleet > 0 {
				return errors.New("--fleet seeds the temporary server's database: leave out --base-url")
			} else if cfg.AdminKey == "" {
				return errors.New("--admin-key is needed with --base-url (bench creates its own platform)")
			}
			if !asJSON {
				cfg.Progress = errw
			}
			rs, err := bench.Run(ctx, cfg)
			if asJSON && (len(rs) > 0 || err == nil) {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(rs); jerr != nil {
					return jerr
				}
			} else if len(rs) > 0 {
				bench.WriteTable(out, rs)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.BaseURL, "base-url", env(cmd, "base-url", "MINISHIP_BASE_URL", ""), "server to measure; empty starts a temporary one (MINISHIP_BASE_URL)")
	fl.StringVar(&cfg.AdminKey, "admin-key", env(cmd, "admin-key", "MINISHIP_ADMIN_KEY", ""), "the server's admin API key (MINISHIP_ADMIN_KEY)")
	fl.IntVar(&cfg.ServerPID, "server-pid", 0, "pid of the server under --base-url on this machine, to report its CPU per operation")
	fl.StringVar(&database, "database", "", "database of the temporary server: empty for SQLite, or postgres://...")
	fl.StringVar(&serverBin, "server-binary", "", "miniship binary the temporary server runs (default: this one), to compare builds")
	fl.StringArrayVar(&serveArgs, "serve-arg", nil, "extra flag for the temporary server (repeatable), e.g. --serve-arg=--commit-latency=0s")
	fl.IntVarP(&cfg.Concurrency, "concurrency", "c", 32, "closed-loop clients, one mini program each")
	fl.IntVar(&cfg.Rate, "rate", 0, "open loop: requests per second (0: closed loop); runs "+strings.Join(bench.OpenLoop, ",")+" unless --scenarios says otherwise")
	fl.DurationVarP(&cfg.Duration, "duration", "d", 5*time.Second, "measuring time per scenario and round")
	fl.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured time before each scenario")
	fl.IntVar(&cfg.Rounds, "rounds", 1, "repeat every scenario this many times (each round has its own no-op)")
	fl.IntVar(&cfg.Apps, "apps", 0, "mini programs to create (at least --concurrency)")
	fl.IntVar(&fleet, "fleet", 0, "mini programs (each with a grant, a version and an audit) to write straight into the temporary server's database before it starts, to measure a server of that size")
	fl.StringVar(&scenarios, "scenarios", "", "comma-separated subset of "+strings.Join(bench.Scenarios, ",")+" (noop always runs)")
	fl.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}
