// Package cli holds the miniship subcommands (serve, preview, rollout). Each
// command lives in its own file and registers itself on the root command.
package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
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
	// a usage error (unknown command or flag, wrong arguments) and gets a
	// hint; an error after it is the command's and stands alone.
	ran := false
	root := &cobra.Command{
		Use:              "miniship",
		Short:            "A self-hostable, WeChat-compatible mini program code-management server, SDK and rollout tool",
		Version:          version(),
		SilenceUsage:     true,
		SilenceErrors:    true,
		PersistentPreRun: func(*cobra.Command, []string) { ran = true },
	}
	root.SetVersionTemplate("miniship {{.Version}}\n")
	for _, c := range commands {
		root.AddCommand(c())
	}
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

// envOr returns the environment variable key, or def when it is unset, so
// every flag can fall back to MINISHIP_* variables.
func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}
