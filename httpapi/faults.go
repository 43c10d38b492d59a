package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miniship/miniship/wxerr"
)

// FaultRule makes a share of calls fail or slow down, so platforms can test
// their retries. An empty Path matches every WeChat endpoint.
type FaultRule struct {
	Path    string  `json:"path,omitempty"`
	Rate    float64 `json:"rate"`              // 0..1: share of matching calls affected
	Errcode int     `json:"errcode,omitempty"` // answered instead of the real result; 0 = none
	DelayMS int     `json:"delay_ms,omitempty"`
}

// maxDelayMS bounds a rule's delay: a minute.
const maxDelayMS = 60_000

// ruleSyntax names a rule's parts as its writer spelt them: the admin
// API's JSON fields, or the --fault flag's keys.
type ruleSyntax struct{ delay, maxDelay, needs string }

var (
	jsonRule = ruleSyntax{"delay_ms", "60000", "a rule needs an errcode or a delay_ms"}
	flagRule = ruleSyntax{"delay", "60s", "a rule needs errcode=N or delay=D"}
)

// validate checks a rule, naming its parts as syntax spells them.
func (f FaultRule) validate(syntax ruleSyntax) error {
	switch {
	case f.Rate < 0 || f.Rate > 1:
		return fmt.Errorf("rate must be between 0 and 1")
	case f.DelayMS < 0 || f.DelayMS > maxDelayMS:
		return fmt.Errorf("%s must be between 0 and %s", syntax.delay, syntax.maxDelay)
	case f.Errcode == 0 && f.DelayMS == 0:
		return errors.New(syntax.needs)
	case f.Path != "" && !strings.HasPrefix(f.Path, "/"):
		return fmt.Errorf("path must start with /")
	}
	return nil
}

// ParseFaultRule reads the --fault flag form: "path=/wxa/commit,rate=0.2,errcode=-1,delay=300ms".
// Its errors quote the rule and speak of its keys (delay=, not delay_ms).
// A delay is kept in whole milliseconds, rounded away from zero, so that
// neither 200µs nor -200µs reads as no delay.
func ParseFaultRule(s string) (FaultRule, error) {
	var f FaultRule
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return f, fmt.Errorf("fault %q: want key=value pairs (path=, rate=, errcode=, delay=)", s)
		}
		var err error
		switch k {
		case "path":
			f.Path = v
		case "rate":
			f.Rate, err = strconv.ParseFloat(v, 64)
		case "errcode":
			f.Errcode, err = strconv.Atoi(v)
		case "delay":
			var d time.Duration
			d, err = time.ParseDuration(v)
			f.DelayMS = int(d / time.Millisecond)
			if d%time.Millisecond > 0 {
				f.DelayMS++
			} else if d%time.Millisecond < 0 {
				f.DelayMS--
			}
		default:
			err = fmt.Errorf("unknown key (want path, rate, errcode or delay)")
		}
		if err != nil {
			return f, fmt.Errorf("fault %q: %s: %w", s, kv, err)
		}
	}
	if err := f.validate(flagRule); err != nil {
		return f, fmt.Errorf("fault %q: %w", s, err)
	}
	return f, nil
}

// injectedFault is the answer of a fault rule: what the operator asked
// for, not a failure of the server, and not logged as one.
type injectedFault struct{ err *wxerr.Error }

func (f injectedFault) Error() string { return f.err.Error() }
func (f injectedFault) Unwrap() error { return f.err }

type faults struct {
	mu    sync.RWMutex
	rules []FaultRule
}

func (f *faults) set(rules []FaultRule) error {
	for _, r := range rules {
		if err := r.validate(jsonRule); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.rules = append([]FaultRule(nil), rules...)
	f.mu.Unlock()
	return nil
}

func (f *faults) get() []FaultRule {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return append([]FaultRule{}, f.rules...)
}

// apply runs the first rule that matches path and fires; it delays and/or
// returns the injected error.
func (f *faults) apply(ctx context.Context, path string) error {
	f.mu.RLock()
	rules := f.rules
	f.mu.RUnlock()
	for _, r := range rules {
		if (r.Path != "" && r.Path != path) || rand.Float64() >= r.Rate {
			continue
		}
		if r.DelayMS > 0 {
			t := time.NewTimer(time.Duration(r.DelayMS) * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if r.Errcode != 0 {
			return injectedFault{wxerr.New(wxerr.Code(r.Errcode), "injected fault")}
		}
		return nil
	}
	return nil
}
