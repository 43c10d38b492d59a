package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Credentials are the platform's secrets, from flags, MINISHIP_ROLLOUT_*
// variables or a credentials file (YAML or JSON with these keys).
type Credentials struct {
	ComponentAppID  string `json:"component_appid,omitempty"`
	ComponentSecret string `json:"component_secret,omitempty"`
	// The component_verify_ticket: given, in a file that the platform's
	// push receiver keeps current, or (miniship servers) fetched through
	// the admin API with AdminKey.
	Ticket     string `json:"ticket,omitempty"`
	TicketFile string `json:"ticket_file,omitempty"`
	AdminKey   string `json:"admin_key,omitempty"`
	// RefreshTokensFile lists appid,refresh_token (a targets file).
	RefreshTokensFile string            `json:"refresh_tokens_file,omitempty"`
	RefreshTokens     map[string]string `json:"refresh_tokens,omitempty"`
}

// LoadCredentials reads a credentials file; its relative paths are
// relative to it.
func LoadCredentials(path string) (*Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Credentials
	if err := decodeYAML(b, &c); err != nil {
		return nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	for _, f := range []*string{&c.TicketFile, &c.RefreshTokensFile} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(filepath.Dir(path), *f)
		}
	}
	return &c, nil
}

// Fill sets the fields of c that are empty from d (flags first, then
// environment, then file).
func (c *Credentials) Fill(d *Credentials) {
	or := func(a *string, b string) {
		if *a == "" {
			*a = b
		}
	}
	or(&c.ComponentAppID, d.ComponentAppID)
	or(&c.ComponentSecret, d.ComponentSecret)
	or(&c.Ticket, d.Ticket)
	or(&c.TicketFile, d.TicketFile)
	or(&c.AdminKey, d.AdminKey)
	or(&c.RefreshTokensFile, d.RefreshTokensFile)
	if c.RefreshTokens == nil {
		c.RefreshTokens = d.RefreshTokens
	}
}

// ResolveSecret fills in a missing component secret from a miniship
// server's admin API when AdminKey is set.
func (c *Credentials) ResolveSecret(ctx context.Context, hc *http.Client, baseURL string) error {
	if c.ComponentSecret != "" || c.AdminKey == "" || c.ComponentAppID == "" {
		return nil
	}
	var p struct {
		Secret string `json:"secret"`
	}
	if err := adminGet(ctx, hc, baseURL, c.AdminKey, "/platforms/"+url.PathEscape(c.ComponentAppID), &p); err != nil {
		return fmt.Errorf("fetch component secret: %w", err)
	}
	c.ComponentSecret = p.Secret
	return nil
}

// adminGet decodes the answer of a GET on a miniship server's admin API.
func adminGet(ctx context.Context, hc *http.Client, baseURL, adminKey, path string, v any) error {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(baseURL, "/")+"/miniship/v1"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&e)
		return fmt.Errorf("HTTP %d %s", res.StatusCode, e.Error)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}

// ResolveTicket returns the ticket: given, read from TicketFile, or
// fetched from a miniship server's admin API; "" when there is none.
func (c *Credentials) ResolveTicket(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	switch {
	case c.Ticket != "":
		return c.Ticket, nil
	case c.TicketFile != "":
		b, err := os.ReadFile(c.TicketFile)
		return strings.TrimSpace(string(b)), err
	case c.AdminKey != "":
		return FetchTicket(ctx, hc, baseURL, c.AdminKey, c.ComponentAppID)
	}
	return "", nil
}

// FetchTicket reads the platform's current ticket from a miniship server.
func FetchTicket(ctx context.Context, hc *http.Client, baseURL, adminKey, component string) (string, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second} // a stalled server must not hang the command
	}
	u := strings.TrimRight(baseURL, "/") + "/miniship/v1/platforms/" + url.PathEscape(component) + "/ticket"
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch ticket: %w", err)
	}
	defer res.Body.Close()
	var out struct {
		Ticket string `json:"component_verify_ticket"`
		Error  string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.Ticket == "" {
		return "", fmt.Errorf("fetch ticket: HTTP %d %s %v", res.StatusCode, out.Error, err)
	}
	return out.Ticket, nil
}

// CheckRefreshTokens reads the refresh tokens given here (the map and the
// file, not those of a miniship server's admin API, which lists every
// authorization of the platform) and refuses what a run could not use or
// would use by mistake: a file it cannot read, an entry without appid or
// refresh_token, and a target's appid given twice. Entries of other
// appids are let be: one file of the whole fleet serves a plan of a few
// (a canary), as the admin API's list of every authorization does. A run meets the
// first two only once it has bound its state file (after --reset has
// emptied it), and --dry-run not at all: the CLI calls this in both modes,
// before the state file. It holds the targets' appids, not their values.
func (c *Credentials) CheckRefreshTokens(p *Plan) error {
	if c.RefreshTokensFile == "" && len(c.RefreshTokens) == 0 {
		return nil
	}
	given := map[string]int{} // a target's appid → the entry giving its token, from 1; 0: none yet
	err := p.EachTarget(func(t Target) error {
		given[strings.Clone(t.AppID)] = 0 // a clone: a CSV field shares the line's memory
		return nil
	})
	if err != nil {
		return err
	}
	ids := slices.Sorted(maps.Keys(c.RefreshTokens))
	name := func(n int) string {
		if n <= len(ids) {
			return "credentials refresh_tokens." + ids[n-1]
		}
		return fmt.Sprintf("entry %d", n-len(ids)) // ReadTargets names the file
	}
	n := 0
	check := func(t Target) error {
		n++
		at, target := given[t.AppID]
		switch {
		case t.AppID == "":
			return fmt.Errorf("%s has no appid", name(n))
		case t.RefreshToken == "":
			return fmt.Errorf("%s (appid %s) has no refresh_token", name(n), t.AppID)
		case !target:
			return nil
		case at != 0:
			return fmt.Errorf("%s: appid %s is listed twice (first as %s)", name(n), t.AppID, name(at))
		}
		given[t.AppID] = n
		return nil
	}
	for _, id := range ids {
		if err := check(Target{AppID: id, RefreshToken: c.RefreshTokens[id]}); err != nil {
			return fmt.Errorf("refresh tokens: %w", err)
		}
	}
	if c.RefreshTokensFile == "" {
		return nil
	}
	if err := ReadTargets(c.RefreshTokensFile, check); err != nil {
		return fmt.Errorf("refresh tokens: %w", err)
	}
	return nil
}

// RefreshTokenSource streams the credentials' refresh tokens for Config:
// the map, the file, and with AdminKey those a miniship server at baseURL
// holds for the platform (the admin API's list of authorizations).
func (c *Credentials) RefreshTokenSource(baseURL string) func(func(Target) error) error {
	if c.RefreshTokensFile == "" && len(c.RefreshTokens) == 0 && c.AdminKey == "" {
		return nil
	}
	return func(fn func(Target) error) error {
		for id, tok := range c.RefreshTokens {
			if err := fn(Target{AppID: id, RefreshToken: tok}); err != nil {
				return err
			}
		}
		if c.RefreshTokensFile != "" {
			if err := ReadTargets(c.RefreshTokensFile, fn); err != nil {
				return err
			}
		}
		if c.AdminKey == "" {
			return nil
		}
		return FetchRefreshTokens(context.Background(), nil, baseURL, c.AdminKey, c.ComponentAppID, fn)
	}
}

// FetchRefreshTokens streams the refresh tokens of the platform's
// authorizations from a miniship server's admin API, page by page.
func FetchRefreshTokens(ctx context.Context, hc *http.Client, baseURL, adminKey, component string, fn func(Target) error) error {
	return fetchRefreshTokens(ctx, hc, baseURL, adminKey, component, refreshTokensPage, fn)
}

// refreshTokensPage is the admin list's page size rollout asks for.
const refreshTokensPage = 1000

func fetchRefreshTokens(ctx context.Context, hc *http.Client, baseURL, adminKey, component string, limit int, fn func(Target) error) error {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	after := ""
	for {
		next, err := fetchRefreshTokenPage(ctx, hc, baseURL, adminKey, component, after, limit, fn)
		if err != nil {
			return fmt.Errorf("fetch refresh tokens: %w", err)
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// fetchRefreshTokenPage streams one page to fn and returns its next_after.
func fetchRefreshTokenPage(ctx context.Context, hc *http.Client, baseURL, adminKey, component, after string, limit int, fn func(Target) error) (string, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if after != "" {
		q.Set("after", after)
	}
	u := strings.TrimRight(baseURL, "/") + "/miniship/v1/platforms/" + url.PathEscape(component) + "/authorizations?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&e)
		return "", fmt.Errorf("HTTP %d %s", res.StatusCode, e.Error)
	}
	// Streamed: a page may be large.
	dec := json.NewDecoder(res.Body)
	if err := expect(dec, json.Delim('{')); err != nil {
		return "", err
	}
	next := ""
	for dec.More() {
		var key string
		if t, err := dec.Token(); err != nil {
			return "", err
		} else {
			key, _ = t.(string)
		}
		switch key {
		case "next_after":
			if err := dec.Decode(&next); err != nil {
				return "", err
			}
			continue
		case "authorizations":
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", err
			}
			continue
		}
		if err := expect(dec, json.Delim('[')); err != nil {
			return "", err
		}
		for dec.More() {
			var a struct {
				AppID   string `json:"authorizer_appid"`
				Refresh string `json:"authorizer_refresh_token"`
			}
			if err := dec.Decode(&a); err != nil {
				return "", err
			}
			if err := fn(Target{AppID: a.AppID, RefreshToken: a.Refresh}); err != nil {
				return "", err
			}
		}
		if err := expect(dec, json.Delim(']')); err != nil {
			return "", err
		}
	}
	return next, nil
}

func expect(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("unexpected %v, want %v", t, d)
	}
	return nil
}
