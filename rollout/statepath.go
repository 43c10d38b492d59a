package rollout

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
)

// DefaultStatePath is where a plan's state file lives when --state is not
// given: under the user's state directory ($XDG_STATE_HOME, else
// ~/.local/state), named for the plan file, so running the same plan again
// resumes without litter in the working directory.
func DefaultStatePath(planPath string) (string, error) {
	abs, err := filepath.Abs(planPath)
	if err != nil {
		return "", err
	}
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".local", "state")
	}
	dir = filepath.Join(dir, "miniship", "rollout")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	name := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
	return filepath.Join(dir, name+"-"+hex.EncodeToString(sum[:4])+".db"), nil
}
