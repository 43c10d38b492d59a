package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBenchIgnoresServeEnvironment: the temporary server bench starts is
// configured by bench alone. Before, it read serve's MINISHIP_* fallbacks:
// bench then filled the operator's database with its fixture, failed on
// their faults, or hung on their manual clock.
func TestBenchIgnoresServeEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "operator.db")
	cmd := exec.Command(bin, "bench", "-d", "200ms", "--warmup", "0s", "--scenarios", "read")
	cmd.Env = append(os.Environ(),
		"MINISHIP_DATABASE="+db,
		"MINISHIP_FAULTS=path=/wxa/get_category,rate=1,errcode=-1",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("bench's server opened the operator's database %s (stat: %v)", db, err)
	}
}
