// Command miniship is the single binary: the WeChat-compatible server, the
// offline ext_json preview and the rollout operator tool.
package main

import (
	"os"

	"github.com/miniship/miniship/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
