package rollout

import (
	"io"

	"github.com/vbauerster/mpb/v8"
)

// FetchRefreshTokensPaged is FetchRefreshTokens with the page size given,
// so that a small fleet spans several pages.
var FetchRefreshTokensPaged = fetchRefreshTokens

// NewProgressOn draws on w, a terminal or not, as NewProgress does on a
// terminal.
func NewProgressOn(w io.Writer, steps []Step) *Progress {
	return newProgress(w, steps, mpb.WithAutoRefresh())
}

// MarkWorked is what Run does before its dispatch: from then on the file
// may hold progress.
func (s *State) MarkWorked() { s.worked = true }
