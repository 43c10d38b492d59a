// Package cli holds the miniship subcommands (serve, preview, rollout). Each
// command lives in its own file and registers itself on the root command.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exitError carries a process exit code out of a command without printing
// anything more (the command already wrote what the user needs).
type exitError struct{ code int }

func (e exitError) Error() string { return "exit" }

// commands are the constructors of every subcommand; files add to it in init.
var commands []func() *cobra.Command

// Main runs the CLI and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// ran is set once a command's own code starts: an error before that is
	// a usage error (unknown command or flag, wrong arguments, a bad
	// environment fallback) and gets a hint; an error after it is the
	// command's and stands alone.
	ran := false
	root := newRoot(&ran)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		io.WriteString(stderr, "miniship: "+err.Error()+"\n")
		if !ran {
			if cmd == nil {
				cmd = root
			}
			io.WriteString(stderr, "Usage: "+cmd.UseLine()+"\nRun '"+cmd.CommandPath()+" --help' for usage.\n")
		}
		return 2
	}
	return 0
}

// newRoot is the miniship command with every subcommand; it sets *ran when
// a command's own code starts, after its environment fallbacks are applied.
func newRoot(ran *bool) *cobra.Command {
	root := &cobra.Command{
		Use:           "miniship",
		Short:         "A self-hostable, WeChat-compatible mini program code-management server, SDK and rollout tool",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			// cobra checks these only after this hook: checked here, a
			// missing flag is a usage error and gets the hint.
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return err
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return err
			}
			*ran = true
			return nil
		},
	}
	root.SetVersionTemplate("miniship {{.Version}}\n")
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// envPrefix starts the command annotations that name the environment
// variable a flag falls back to (env).
const envPrefix = "miniship.env:"

// env declares that the flag name of cmd falls back to the environment
// variable key, and returns def, the flag's default, so a declaration reads
//
//	fl.IntVar(&n, "concurrency", env(cmd, "concurrency", "MINISHIP_ROLLOUT_CONCURRENCY", 32), "...")
//
// The variable is read after parsing, by applyEnv: flag > env > default.
func env[T any](cmd *cobra.Command, name, key string, def T) T {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[envPrefix+name] = key
	return def
}

// applyEnv sets every flag of cmd that the command line left unset and
// whose variable (env) is set, through the flag's own Set: the value is
// parsed and checked as the flag's would be, and a bad one is an error
// naming the variable. A repeatable flag takes a ';'-separated list; an
// empty variable is an empty list.
func applyEnv(cmd *cobra.Command) error {
	for _, ann := range slices.Sorted(maps.Keys(cmd.Annotations)) {
		name, ok := strings.CutPrefix(ann, envPrefix)
		if !ok {
			continue
		}
		key := cmd.Annotations[ann]
		f := cmd.Flags().Lookup(name)
		if f == nil {
			return fmt.Errorf("%s is the fallback of --%s, which %s does not have", key, name, cmd.CommandPath())
		}
		v, set := os.LookupEnv(key)
		if !set || f.Changed {
			continue
		}
		values := []string{v}
		if list, ok := f.Value.(pflag.SliceValue); ok {
			if v == "" {
				list.Replace(nil)
				continue
			}
			values = strings.Split(v, ";")
		}
		for _, s := range values {
			if err := cmd.Flags().Set(name, s); err != nil {
				var bad *pflag.InvalidValueError
				if errors.As(err, &bad) {
					err = bad.Unwrap()
				}
				return fmt.Errorf("%s=%q: %w (for --%s)", key, s, err, name)
			}
		}
	}
	return nil
}
