package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/miniship/miniship/rollout"
	"github.com/miniship/miniship/wxa"
)

func init() { commands = append(commands, newRolloutCmd) }

// newRolloutCmd is `miniship rollout PLAN`: commit, audit and release a
// template to many mini programs, resumably. Exit 0 only when every app
// completed the plan; 1 when some failed or the run was interrupted; 2 for
// a bad plan or setup.
func newRolloutCmd() *cobra.Command {
	var (
		creds                   rollout.Credentials
		credFile, stateFile     string
		baseURL, report, tplDir string
		concurrency, attempts   int
		rps                     float64
		commitWait              time.Duration
		dryRun, noProgress      bool
		reset, verbose          bool
		cpuProfile              string
	)
	cmd := &cobra.Command{
		Use:   "rollout PLAN",
		Short: "Commit, audit and release a template to many mini programs (resumable)",
		Long: `Run a rollout plan (YAML or JSON, see rollout/testdata/plan.yaml): render
each target's ext_json, commit, wait for the privacy scan, submit for audit,
wait for the result, optionally gray-release, and release.

Per-app progress lives in the --state SQLite file: run the same command again
after an interruption and it resumes without committing or submitting any app
twice. --dry-run validates every rendered ext_json against the local template
offline and exits 1 listing the failures. Both modes first check the plan,
its targets, and the refresh tokens of --refresh-tokens and the credentials
file (every entry complete, a target's appid given once).

Credentials come from flags, then MINISHIP_ROLLOUT_* variables
(COMPONENT_APPID, COMPONENT_SECRET, TICKET, TICKET_FILE, ADMIN_KEY,
REFRESH_TOKENS, CREDENTIALS), then the --credentials file. Against a miniship
server, --admin-key fetches the ticket. STATE, BASE_URL and CONCURRENCY may
also come from MINISHIP_ROLLOUT_*.

Exit status: 0 when every app completed the plan, 1 when some failed or the
run was interrupted (or --dry-run found invalid ext_json), 2 for a bad plan
or setup.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRolloutFlags(concurrency, attempts, rps, commitWait); err != nil {
				return err
			}
			plan, err := rollout.LoadPlan(args[0])
			if err != nil {
				return err
			}
			creds.Fill(&rollout.Credentials{
				ComponentAppID: os.Getenv("MINISHIP_ROLLOUT_COMPONENT_APPID"), ComponentSecret: os.Getenv("MINISHIP_ROLLOUT_COMPONENT_SECRET"),
				Ticket: os.Getenv("MINISHIP_ROLLOUT_TICKET"), TicketFile: os.Getenv("MINISHIP_ROLLOUT_TICKET_FILE"),
				AdminKey: os.Getenv("MINISHIP_ROLLOUT_ADMIN_KEY"), RefreshTokensFile: os.Getenv("MINISHIP_ROLLOUT_REFRESH_TOKENS"),
			})
			if credFile != "" {
				f, err := rollout.LoadCredentials(credFile)
				if err != nil {
					return err
				}
				creds.Fill(f)
			}
			// In both modes, as the targets are at plan load: the run
			// would meet a bad one only after binding its state file.
			if err := creds.CheckRefreshTokens(plan); err != nil {
				return err
			}
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			if dryRun {
				return rolloutDryRun(plan, tplDir, report, stdout)
			}
			if err := creds.ResolveSecret(cmd.Context(), nil, baseURL); err != nil {
				return err
			}
			if creds.ComponentAppID == "" || creds.ComponentSecret == "" {
				return errors.New("rollout needs the component appid and secret (--component-appid/--component-secret, MINISHIP_ROLLOUT_*, or --credentials; against a miniship server --admin-key fetches the secret)")
			}
			ticket, err := creds.ResolveTicket(cmd.Context(), nil, baseURL)
			if err != nil {
				return err
			}
			if ticket == "" {
				return errors.New("rollout needs the component_verify_ticket: --ticket, --ticket-file, or --admin-key against a miniship server")
			}
			if stateFile == "" {
				if stateFile, err = rollout.DefaultStatePath(args[0]); err != nil {
					return err
				}
			}
			state, err := rollout.OpenState(stateFile)
			if err != nil {
				return err
			}
			defer state.Close()

			var obs rollout.Observer = quiet{}
			logOut := stderr
			if !noProgress && isTerminal(stderr) {
				pr := rollout.NewProgress(stderr, plan.StepList())
				obs, logOut = pr, pr.Writer()
			}
			obs = stateHint{Observer: obs, w: logOut, path: stateFile}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			rep, runErr := rollout.Run(cmd.Context(), rollout.Config{
				Plan: plan, State: state, BaseURL: baseURL,
				ComponentAppID: creds.ComponentAppID, ComponentSecret: creds.ComponentSecret, Ticket: ticket,
				RefreshTokens: creds.RefreshTokenSource(baseURL),
				Concurrency:   concurrency, Rate: rps, MaxAttempts: attempts, Reset: reset, CommitWait: commitWait,
				LeanReport: true,
				Observer:   obs,
				Logger:     slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level})),
			})
			interrupted := errors.Is(runErr, context.Canceled)
			if rep == nil {
				// No app was worked on: a state file this run created
				// holds nothing to resume, and is not left behind.
				discardErr := state.Discard()
				if interrupted {
					// Stopped before the first app: still exit 1, not 2.
					fmt.Fprintln(stderr, "interrupted: run the same command again to resume")
					if discardErr != nil {
						fmt.Fprintln(stderr, "miniship: "+discardErr.Error())
					}
					return exitError{1}
				}
				return errors.Join(runErr, discardErr)
			}
			rep.PrintSummary(stdout, 50)
			if report != "" {
				err := writeReport(report, func(w io.Writer) error {
					return state.WriteReport(context.WithoutCancel(cmd.Context()), w, rep)
				})
				if err != nil {
					return err
				}
			}
			if interrupted {
				fmt.Fprintln(stderr, "interrupted: run the same command again to resume")
			} else if runErr != nil {
				fmt.Fprintln(stderr, "miniship: "+runErr.Error())
			}
			if !rep.OK() {
				return exitError{1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&stateFile, "state", env(cmd, "state", "MINISHIP_ROLLOUT_STATE", ""), "SQLite state file: per-app progress, for resuming (default: named for the plan under $XDG_STATE_HOME/miniship/rollout, else ~/.local/state/miniship/rollout)")
	f.StringVar(&baseURL, "base-url", env(cmd, "base-url", "MINISHIP_ROLLOUT_BASE_URL", wxa.DefaultBaseURL), "WeChat API base URL, or a miniship server's")
	f.StringVar(&creds.ComponentAppID, "component-appid", "", "third-party platform appid")
	f.StringVar(&creds.ComponentSecret, "component-secret", "", "third-party platform secret (prefer the environment or --credentials)")
	f.StringVar(&creds.Ticket, "ticket", "", "component_verify_ticket")
	f.StringVar(&creds.TicketFile, "ticket-file", "", "file holding the current component_verify_ticket")
	f.StringVar(&creds.AdminKey, "admin-key", "", "miniship admin key: read the platform's secret, the current ticket and the refresh tokens from the server's admin API")
	f.StringVar(&creds.RefreshTokensFile, "refresh-tokens", "", "file of appid,refresh_token (.csv, .json, .jsonl)")
	f.StringVar(&credFile, "credentials", env(cmd, "credentials", "MINISHIP_ROLLOUT_CREDENTIALS", ""), "credentials file (YAML or JSON)")
	f.IntVar(&concurrency, "concurrency", env(cmd, "concurrency", "MINISHIP_ROLLOUT_CONCURRENCY", 32), "mini programs worked on at once (requests in flight: a waiting app holds none)")
	f.Float64Var(&rps, "rate", 50, "global limit of API requests per second (0: none)")
	f.IntVar(&attempts, "max-attempts", 5, "transient failures of a step before its app fails for this run (at least 1; 1: no retry)")
	f.DurationVar(&commitWait, "commit-wait", 30*time.Second, "after a resumed commit meets 9402202, wait this long before checking the server again; longer than a commit takes (must be positive)")
	f.BoolVar(&dryRun, "dry-run", false, "render and validate every ext_json offline against the template; no network")
	f.StringVar(&tplDir, "template", "", "local template (directory or .zip) for --dry-run; default the plan's template.path")
	f.StringVar(&report, "report", "", "write a JSON report to this file (with --dry-run, the dry run's: targets valid and invalid, see docs/rollout.md)")
	f.BoolVar(&noProgress, "no-progress", false, "no progress bars")
	f.BoolVar(&reset, "reset", false, "forget the apps the state file holds (another rollout's included)")
	f.BoolVar(&verbose, "verbose", false, "log every step")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (for `go tool pprof`)")
	f.MarkHidden("cpuprofile") // a tool for measuring the rollout itself
	return cmd
}

func rolloutDryRun(plan *rollout.Plan, tplDir, report string, stdout io.Writer) error {
	header := false
	rep, err := rollout.DryRun(plan, tplDir, func(f rollout.Failure) {
		if !header {
			fmt.Fprintln(stdout, "APPID\tERRCODE\tERRMSG")
			header = true
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", f.AppID, f.Label(), f.Msg)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dry run: %d targets, %d invalid\n", rep.Targets, rep.Invalid)
	if report != "" {
		if err := writeReport(report, rep.WriteJSON); err != nil {
			return err
		}
	}
	if rep.Invalid > 0 {
		return exitError{1}
	}
	return nil
}

// checkRolloutFlags refuses values that make no sense rather than let the
// engine take its default for them (it does for 0).
func checkRolloutFlags(concurrency, attempts int, rps float64, commitWait time.Duration) error {
	for _, c := range []struct {
		bad bool
		err string
	}{
		{concurrency < 1, fmt.Sprintf("--concurrency (or MINISHIP_ROLLOUT_CONCURRENCY) %d: must be at least 1", concurrency)},
		{attempts < 1, fmt.Sprintf("--max-attempts %d: must be at least 1 (1: an app fails at its first transient failure)", attempts)},
		{rps < 0, fmt.Sprintf("--rate %v: must not be negative (0: no limit)", rps)},
		{commitWait <= 0, fmt.Sprintf("--commit-wait %v: must be positive, longer than a commit takes on the server", commitWait)},
	} {
		if c.bad {
			return errors.New(c.err)
		}
	}
	return nil
}

// stateHint says where the state file is once the run has begun, the
// file bound to the plan and holding its targets: from then on, running
// the same command again resumes. A run refused before that (the file is
// another rollout's) gets no such hint: running again meets the same error.
type stateHint struct {
	rollout.Observer
	w    io.Writer
	path string
}

func (h stateHint) Begin(total int, steps []rollout.StepCount) {
	fmt.Fprintln(h.w, "state file: "+h.path+" (run the same command again to resume)")
	h.Observer.Begin(total, steps)
}

// Watch passes the waiting apps on to progress bars that show them.
func (h stateHint) Watch(waits func() []rollout.Waiting) {
	if w, ok := h.Observer.(rollout.WaitObserver); ok {
		w.Watch(waits)
	}
}

// quiet is the Observer of a run without progress bars.
type quiet struct{}

func (quiet) Begin(int, []rollout.StepCount) {}
func (quiet) Advanced(rollout.Step)          {}
func (quiet) Failed(rollout.Step, string)    {}
func (quiet) End()                           {}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func writeReport(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
