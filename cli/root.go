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
	root := &cobra.Command{
		Use:           "github.com/miniship/miniship",
		Short:         "A self-hostable, WeChat-compatible mini program code-management server, SDK and rollout tool",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, c := range commands {
		root.AddCommand(c())
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		io.WriteString(stderr, "miniship: "+err.Error()+"\n")
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
