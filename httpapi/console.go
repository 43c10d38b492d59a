package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/miniship/miniship/console"
)

// mountConsole builds the web console at /console/; the Server is its
// Controls (the clock, fault rules and limits live here).
func (s *Server) mountConsole() error {
	c, err := console.New(console.Options{Service: s.svc, AdminKey: s.adminKey, Controls: consoleControls{s}, Logger: s.log})
	if err != nil {
		return err
	}
	s.console = c
	return nil
}

type consoleControls struct{ s *Server }

func (c consoleControls) Manual() bool { return c.s.manual != nil }

func (c consoleControls) AdvanceClock(ctx context.Context, d time.Duration) error {
	if c.s.manual == nil {
		return errors.New("the clock is real: start the server with --clock manual")
	}
	c.s.manual.Advance(d)
	c.s.svc.Tick(ctx) // as POST /miniship/v1/clock/advance does
	return nil
}

func (c consoleControls) FaultsJSON() string { return indentJSON(c.s.faults.get()) }
func (c consoleControls) LimitsJSON() string { return indentJSON(c.s.limits.get().Effective()) }

func (c consoleControls) SetFaultsJSON(v string) error {
	var rules []FaultRule
	if err := strictJSON(v, &rules); err != nil {
		return err
	}
	return c.s.faults.set(rules)
}

func (c consoleControls) SetLimitsJSON(v string) error {
	var l Limits
	if err := strictJSON(v, &l); err != nil {
		return err
	}
	return c.s.limits.set(l)
}

func indentJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func strictJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
