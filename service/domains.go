package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// Server and business (web-view) domains: a mini program's four layers
// (console, platform-set, directly set, effective) and the platform's own
// registered lists. Nothing but release changes the effective layer
// (releaseDomains); docs/domains.md gives the rules and the choices made
// where WeChat's pages disagree.

// Limits of the domain endpoints.
const (
	maxDomainsPerKind      = 200  // modify_domain, per kind
	maxWebviewDomains      = 100  // setwebviewdomain (the errmsg's number; a newer page says 300)
	maxPlatformServerHosts = 1000 // modify_wxa_server_domain
	maxPlatformJumpHosts   = 300  // modify_wxa_jump_domain (new page; the old one says 200)
	domainChangesPerMonth  = 50   // each of modify_domain, modify_domain_directly and the platform lists
)

// domainKind is one of the six server-domain lists and the scheme its
// entries carry.
type domainKind struct {
	name   string
	scheme string
	list   func(*miniship.ServerDomains) *[]string
}

var domainKinds = []domainKind{
	{"requestdomain", "https://", func(d *miniship.ServerDomains) *[]string { return &d.Request }},
	{"wsrequestdomain", "wss://", func(d *miniship.ServerDomains) *[]string { return &d.WsRequest }},
	{"uploaddomain", "https://", func(d *miniship.ServerDomains) *[]string { return &d.Upload }},
	{"downloaddomain", "https://", func(d *miniship.ServerDomains) *[]string { return &d.Download }},
	{"udpdomain", "udp://", func(d *miniship.ServerDomains) *[]string { return &d.UDP }},
	{"tcpdomain", "tcp://", func(d *miniship.ServerDomains) *[]string { return &d.TCP }},
}

// Why an entry was filtered out.
const (
	domainOK = iota
	domainBadScheme
	domainBadRule // IP address, path, bad host or port
	domainForbidden
	domainOffPlatform
)

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkHost validates a bare host with an optional port: a DNS name of at
// least two labels whose last is alphabetic, never an IP address.
func checkHost(hostport string) (host string, reason int) {
	host = hostport
	if strings.Contains(hostport, ":") {
		h, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return "", domainBadRule
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", domainBadRule
		}
		host = h
	}
	if len(host) > 253 || net.ParseIP(host) != nil {
		return "", domainBadRule
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return "", domainBadRule
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return "", domainBadRule
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", domainBadRule
	}
	if host == "api.weixin.qq.com" {
		return "", domainForbidden
	}
	return host, domainOK
}

// parseDomain normalises a scheme-prefixed entry ("HTTPS://A.com/" →
// "https://a.com") and returns its host[:port].
func parseDomain(scheme, raw string, portAllowed bool) (norm, hostport string, reason int) {
	s := strings.ToLower(strings.TrimSpace(raw))
	rest, ok := strings.CutPrefix(s, scheme)
	if !ok {
		return "", "", domainBadScheme
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/?#@ ") || (!portAllowed && strings.Contains(rest, ":")) {
		return "", "", domainBadRule
	}
	if _, r := checkHost(rest); r != domainOK {
		return "", "", r
	}
	return scheme + rest, rest, domainOK
}

// onPlatformList reports whether a server domain's host is registered: a
// registered host admits the host on any port, a registered host:port only
// that port.
func onPlatformList(list []string, hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return slices.Contains(list, hostport) || slices.Contains(list, host)
}

// underPlatformList is the business-domain match: the host or a subdomain
// of a registered host.
func underPlatformList(list []string, host string) bool {
	for _, p := range list {
		if host == p || strings.HasSuffix(host, "."+p) {
			return true
		}
	}
	return false
}

// releasedList is the platform list release keeps domains by: the
// published value, or the testing value for a platform that never
// published one (a platform still in development tests with its testing
// value).
func releasedList(published, testing []string) []string {
	if published != nil {
		return published
	}
	return testing
}

func (s *Service) authorizerDomains(tx miniship.Tx, appid string) (*miniship.AuthorizerDomains, error) {
	d, err := tx.GetAuthorizerDomains(appid)
	if errors.Is(err, miniship.ErrNotFound) {
		return &miniship.AuthorizerDomains{AuthorizerAppID: appid}, nil
	}
	return d, err
}

func (s *Service) platformDomains(tx miniship.Tx, appid string) (*miniship.PlatformDomains, error) {
	d, err := tx.GetPlatformDomains(appid)
	if errors.Is(err, miniship.ErrNotFound) {
		return &miniship.PlatformDomains{PlatformAppID: appid}, nil
	}
	return d, err
}

// DomainResult answers modify_domain and modify_domain_directly: the six
// lists after the call and, per kind, the entries filtered out. Every key is
// present, as on WeChat.
type DomainResult struct {
	miniship.ServerDomains
	InvalidRequest   []string `json:"invalid_requestdomain"`
	InvalidWsRequest []string `json:"invalid_wsrequestdomain"`
	InvalidUpload    []string `json:"invalid_uploaddomain"`
	InvalidDownload  []string `json:"invalid_downloaddomain"`
	InvalidUDP       []string `json:"invalid_udpdomain"`
	InvalidTCP       []string `json:"invalid_tcpdomain"`
	// NoICP stays empty: miniship keeps no ICP registry (docs/domains.md).
	NoICP []string `json:"no_icp_domain"`
}

func (r *DomainResult) invalid(k int) *[]string {
	return [...]*[]string{&r.InvalidRequest, &r.InvalidWsRequest, &r.InvalidUpload, &r.InvalidDownload, &r.InvalidUDP, &r.InvalidTCP}[k]
}

// nonNil makes every list of d encode as [] rather than null.
func nonNil(d *miniship.ServerDomains) {
	for _, k := range domainKinds {
		if l := k.list(d); *l == nil {
			*l = []string{}
		}
	}
}

// ModifyDomain is modify_domain (method one, direct=false: the platform's
// lists gate what may be added) and modify_domain_directly (direct=true:
// ordinary mini program rules, no platform list). Valid entries apply, the
// others are listed as invalid with errcode 0; only when nothing applies
// does the call fail, storing nothing.
func (s *Service) ModifyDomain(ctx context.Context, c *Caller, action string, in miniship.ServerDomains, direct bool) (*DomainResult, error) {
	if err := checkListAction(action); err != nil {
		return nil, err
	}
	res := &DomainResult{}
	err := s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.LockAuthorizer(c.AuthorizerAppID); err != nil {
			return err
		}
		d, err := s.authorizerDomains(tx, c.AuthorizerAppID)
		if err != nil {
			return err
		}
		layer := &d.Third
		if direct {
			layer = &d.Direct
		}
		if action == "get" {
			res.ServerDomains = *layer
			return nil
		}
		var platform []string
		if !direct {
			p, err := s.platformDomains(tx, c.PlatformAppID)
			if err != nil {
				return err
			}
			platform = append(slices.Clone(p.TestingServer), p.PublishedServer...)
		}
		next := *layer
		changed, inputs := false, 0
		reasons := map[int]int{}
		for ki, k := range domainKinds {
			cur := slices.Clone(*k.list(layer))
			var valid []string
			seen := map[string]bool{}
			for _, raw := range *k.list(&in) {
				inputs++
				norm, hp, why := parseDomain(k.scheme, raw, true)
				if why == domainOK && !direct && action != "delete" && !onPlatformList(platform, hp) {
					why = domainOffPlatform
				}
				if why != domainOK {
					reasons[why]++
					*res.invalid(ki) = append(*res.invalid(ki), raw)
					continue
				}
				valid = dedupe(valid, seen, norm)
			}
			out := editList(action, cur, valid)
			if !slices.Equal(out, cur) {
				changed = true
			}
			if len(out) > maxDomainsPerKind {
				return wxerr.Errorf(wxerr.DomainCountExceeded, "%s would hold %d domains, at most %d", k.name, len(out), maxDomainsPerKind)
			}
			*k.list(&next) = out
		}
		if !changed || (action == "set" && inputs > 0 && inputs == reasons[domainBadScheme]+reasons[domainBadRule]+reasons[domainForbidden]+reasons[domainOffPlatform]) {
			return nothingApplied(reasons, direct)
		}
		key := "domainmod:third:" + c.AuthorizerAppID + ":" + s.month()
		if direct {
			key = "domainmod:direct:" + c.AuthorizerAppID + ":" + s.month()
		}
		if err := take(tx, key, domainChangesPerMonth, wxerr.DomainModifyMonthlyLimit, "50 domain changes a month"); err != nil {
			return err
		}
		*layer = next
		d.UpdatedAt = s.Now()
		res.ServerDomains = next
		return tx.PutAuthorizerDomains(d)
	})
	if err != nil {
		return nil, err
	}
	nonNil(&res.ServerDomains)
	for k := range domainKinds {
		if *res.invalid(k) == nil {
			*res.invalid(k) = []string{}
		}
	}
	res.NoICP = []string{}
	return res, nil
}

// nothingApplied picks the errcode of a call whose every entry was
// filtered out or changed nothing.
func nothingApplied(reasons map[int]int, direct bool) error {
	switch {
	case direct && reasons[domainForbidden] > 0:
		return wxerr.New(wxerr.DomainForbidden, "")
	case direct && reasons[domainBadScheme] > 0:
		return wxerr.New(wxerr.DomainSchemeInvalid, "")
	case reasons[domainBadScheme]+reasons[domainBadRule]+reasons[domainForbidden] > 0:
		return wxerr.New(wxerr.DomainRuleBroken, "")
	case reasons[domainOffPlatform] > 0:
		return wxerr.New(wxerr.DomainNotOnPlatform, "add the hosts with modify_wxa_server_domain first")
	}
	return wxerr.New(wxerr.NoDomainToModify, "")
}

// EffectiveDomains answers get_effective_domain and
// get_effective_webviewdomain: every layer, lists never null.
func (s *Service) EffectiveDomains(ctx context.Context, c *Caller) (*miniship.AuthorizerDomains, error) {
	var d *miniship.AuthorizerDomains
	err := s.view(ctx, func(tx miniship.Tx) error {
		var err error
		d, err = s.authorizerDomains(tx, c.AuthorizerAppID)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, l := range []*miniship.ServerDomains{&d.MP, &d.Third, &d.Direct, &d.Effective} {
		nonNil(l)
	}
	for _, l := range []*[]string{&d.MPWebview, &d.ThirdWebview, &d.DirectWebview, &d.EffectiveWebview} {
		if *l == nil {
			*l = []string{}
		}
	}
	return d, nil
}

// SetWebviewDomain is setwebviewdomain (direct=false) and
// setwebviewdomain_directly (direct=true); it returns the layer after the
// call. Without an action (platform form only) every business domain the
// platform registered is added.
func (s *Service) SetWebviewDomain(ctx context.Context, c *Caller, action string, in []string, direct bool) ([]string, error) {
	if action == "" && direct {
		return nil, wxerr.New(wxerr.InvalidArgs, "action is required")
	}
	if action != "" {
		if err := checkListAction(action); err != nil {
			return nil, err
		}
	}
	var out []string
	err := s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.LockAuthorizer(c.AuthorizerAppID); err != nil {
			return err
		}
		d, err := s.authorizerDomains(tx, c.AuthorizerAppID)
		if err != nil {
			return err
		}
		layer := &d.ThirdWebview
		if direct {
			layer = &d.DirectWebview
		}
		cur := slices.Clone(*layer)
		if action == "get" {
			out = cur
			return nil
		}
		var jump []string
		if !direct {
			p, err := s.platformDomains(tx, c.PlatformAppID)
			if err != nil {
				return err
			}
			jump = append(slices.Clone(p.TestingJump), p.PublishedJump...)
			if len(jump) == 0 {
				return wxerr.New(wxerr.PlatformWebviewDomainNull, "")
			}
			if action == "" {
				action = "add"
				in = nil
				for _, h := range jump {
					in = append(in, "https://"+h)
				}
			}
		}
		var valid []string
		seen := map[string]bool{}
		for _, raw := range in {
			norm, host, why := parseDomain("https://", raw, false)
			switch {
			case why == domainBadScheme && direct:
				return wxerr.Errorf(wxerr.DomainSchemeInvalid, "%q: business domains start with https://", raw)
			case why == domainForbidden:
				return wxerr.Errorf(wxerr.DomainForbidden, "%q", raw)
			case why != domainOK:
				return wxerr.Errorf(wxerr.InvalidArgs, "%q is not https://host (no port, no path)", raw)
			case !direct && action != "delete" && !underPlatformList(jump, host):
				return wxerr.Errorf(wxerr.WebviewDomainNotPlatforms, "%q", raw)
			}
			valid = dedupe(valid, seen, norm)
		}
		next := editList(action, cur, valid)
		if slices.Equal(next, cur) {
			return wxerr.New(wxerr.WebviewDomainNotChanged, "")
		}
		if len(next) > maxWebviewDomains {
			return wxerr.Errorf(wxerr.WebviewDomainExceedLimit, "at most %d business domains", maxWebviewDomains)
		}
		if direct {
			if err := take(tx, "domainmod:webview:"+c.AuthorizerAppID+":"+s.month(), domainChangesPerMonth, wxerr.DomainModifyMonthlyLimit, "50 domain changes a month"); err != nil {
				return err
			}
		}
		*layer = next
		d.UpdatedAt = s.Now()
		out = next
		return tx.PutAuthorizerDomains(d)
	})
	if out == nil {
		out = []string{}
	}
	return out, err
}

// ConfirmFile is the verification file a business domain (or, for the
// platform, each of its jump domains) serves at its root: derived from the
// appid, so it is stable and needs no state.
func ConfirmFile(appid string) (name, content string) {
	h := sha256.Sum256([]byte("miniship confirm file " + appid))
	return hex.EncodeToString(h[:5]) + ".txt", hex.EncodeToString(h[5:21])
}

// PlatformDomainResult answers modify_wxa_server_domain and
// modify_wxa_jump_domain. Published is nil when the platform never
// published a list; Invalid holds the hosts filtered out.
type PlatformDomainResult struct {
	Testing, Published, Invalid []string
}

// ModifyPlatformDomains changes the platform's own server (jump=false) or
// business (jump=true) host list: the testing value, and the published
// value too when together is set. Deleting an absent host succeeds.
func (s *Service) ModifyPlatformDomains(ctx context.Context, c *Caller, action, hosts string, together, jump bool) (*PlatformDomainResult, error) {
	if err := checkListAction(action); err != nil {
		return nil, err
	}
	res := &PlatformDomainResult{}
	err := s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.LockPlatform(c.PlatformAppID); err != nil {
			return err
		}
		p, err := s.platformDomains(tx, c.PlatformAppID)
		if err != nil {
			return err
		}
		testing, published, max := &p.TestingServer, &p.PublishedServer, maxPlatformServerHosts
		if jump {
			testing, published, max = &p.TestingJump, &p.PublishedJump, maxPlatformJumpHosts
		}
		if action == "get" {
			res.Testing, res.Published = slices.Clone(*testing), slices.Clone(*published)
			return nil
		}
		var valid []string
		seen := map[string]bool{}
		for _, h := range strings.Split(hosts, ";") {
			h = strings.ToLower(strings.TrimSpace(h))
			if h == "" {
				continue
			}
			if _, why := checkHost(h); why != domainOK || (jump && strings.Contains(h, ":")) {
				res.Invalid = append(res.Invalid, h)
				continue
			}
			valid = dedupe(valid, seen, h)
		}
		apply := func(cur []string) ([]string, error) {
			out := editList(action, cur, valid)
			if out == nil {
				out = []string{}
			}
			if len(out) > max {
				return nil, wxerr.Errorf(wxerr.DomainQuotaReached, "at most %d hosts", max)
			}
			return out, nil
		}
		before := [2][]string{*testing, *published}
		if *testing, err = apply(*testing); err != nil {
			return err
		}
		if together {
			if *published, err = apply(*published); err != nil {
				return err
			}
		}
		res.Testing, res.Published = slices.Clone(*testing), slices.Clone(*published)
		same := func(a, b []string) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) } // nil: never set
		if same(before[0], *testing) && same(before[1], *published) {
			// Only calls that change something count: a pipeline that
			// makes sure of its hosts before each release spends nothing.
			return nil
		}
		kind := "server"
		if jump {
			kind = "jump"
		}
		if err := take(tx, "domainmod:"+kind+":"+c.PlatformAppID+":"+s.month(), domainChangesPerMonth, wxerr.DomainQuotaReached, "50 changes a month"); err != nil {
			return err
		}
		p.UpdatedAt = s.Now()
		return tx.PutPlatformDomains(p)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// releaseDomains applies the release rule to the mini program's domains:
// live = (platform-set ∩ the platform's list at this moment; business
// domains also by subdomain) ∪ directly set. Console-set domains are
// dropped, as the documentation says (a 2023 report disputes it). Release
// runs it inside its transaction, under the mini program's lock.
func (s *Service) releaseDomains(tx miniship.Tx, platformAppID, appid string) error {
	d, err := s.authorizerDomains(tx, appid)
	if err != nil {
		return err
	}
	p, err := s.platformDomains(tx, platformAppID)
	if err != nil {
		return err
	}
	server := releasedList(p.PublishedServer, p.TestingServer)
	jump := releasedList(p.PublishedJump, p.TestingJump)
	var eff miniship.ServerDomains
	for _, k := range domainKinds {
		out := []string{}
		for _, v := range *k.list(&d.Third) {
			if _, hp, why := parseDomain(k.scheme, v, true); why == domainOK && onPlatformList(server, hp) {
				out = append(out, v)
			}
		}
		for _, v := range *k.list(&d.Direct) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		*k.list(&eff) = out
	}
	web := []string{}
	for _, v := range d.ThirdWebview {
		if _, host, why := parseDomain("https://", v, false); why == domainOK && underPlatformList(jump, host) {
			web = append(web, v)
		}
	}
	for _, v := range d.DirectWebview {
		if !slices.Contains(web, v) {
			web = append(web, v)
		}
	}
	d.Effective, d.EffectiveWebview = eff, web
	d.MP, d.MPWebview = miniship.ServerDomains{}, nil
	d.UpdatedAt = s.Now()
	return tx.PutAuthorizerDomains(d)
}

// network is MiniProgramInfo.network of api_get_authorizer_info: the live
// domains under WeChat's PascalCase keys (no TCP key exists there).
func (s *Service) network(tx miniship.Tx, appid string) (map[string][]string, error) {
	d, err := s.authorizerDomains(tx, appid)
	if err != nil {
		return nil, err
	}
	e := d.Effective
	nonNil(&e)
	biz := d.EffectiveWebview
	if biz == nil {
		biz = []string{}
	}
	return map[string][]string{"RequestDomain": e.Request, "WsRequestDomain": e.WsRequest, "UploadDomain": e.Upload,
		"DownloadDomain": e.Download, "UDPDomain": e.UDP, "BizDomain": biz}, nil
}

// checkListAction refuses an action the domain calls do not know (40097).
func checkListAction(action string) error {
	if !slices.Contains([]string{"add", "delete", "set", "get"}, action) {
		return wxerr.Errorf(wxerr.InvalidArgs, "action must be add, delete, set or get, not %q", action)
	}
	return nil
}

// editList applies a modify action to a list: add appends what is
// missing, delete removes, set replaces. cur itself is never changed.
func editList(action string, cur, valid []string) []string {
	switch action {
	case "add":
		return union(cur, valid)
	case "delete":
		drop := make(map[string]bool, len(valid))
		for _, v := range valid {
			drop[v] = true
		}
		return slices.DeleteFunc(slices.Clone(cur), func(v string) bool { return drop[v] })
	case "set":
		return valid
	}
	return cur
}
