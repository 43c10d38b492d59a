// Package service implements the WeChat code-management semantics: the
// component token flow, the template library, commit, audit and release.
// It speaks in domain types and wxerr codes; it knows nothing of HTTP or SQL.
package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

// Config holds the tunable numbers. Zero values take the defaults below.
type Config struct {
	TokenTTL      time.Duration // access tokens: 7200 s
	PreAuthTTL    time.Duration // pre_auth_code: 600 s (see README: the docs also say 1800)
	AuthCodeTTL   time.Duration // authorization_code: 600 s
	TicketTTL     time.Duration // component_verify_ticket validity: 12 h
	TicketEvery   time.Duration // ticket push interval: 10 min
	ScanDuration  time.Duration // post-commit privacy scan: 3 s; negative for none
	CommitLatency time.Duration // real time a commit holds its mini program (9402202 window)
	// CommitBuild, when set, is the build instead of CommitLatency's wait:
	// tests hold a commit in flight for exactly as long as they need, so
	// that the 9402202 window does not depend on how fast the machine is.
	CommitBuild  func(ctx context.Context) error
	MaxTemplates int // template library size: 200
	// TemplateLimits cap a template's packages (85044) and files.
	TemplateLimits template.Limits
	// TemplateCacheBytes bounds the parsed-template cache by the bytes of
	// the templates' files (default DefaultTemplateCacheBytes, 256 MiB).
	TemplateCacheBytes int64
	AuditQuota         int // default monthly audit quota of a platform
	SpeedupQuota       int // default monthly speed-up quota of a platform
	UndoPerDay         int // undocodeaudit: 5 a day
	UndoPerMonth       int // and 10 a month
	// DefaultPermissionSets are granted by the consent page and the admin
	// API when the caller names none.
	DefaultPermissionSets []int
	// MediaTTL is how long an uploadmedia mediaid stays usable: 3 days.
	MediaTTL time.Duration
	// RetainHistory and RetainEvents keep history beyond what the API can
	// return (retention.go); zero takes the default, negative keeps all.
	// PruneEvery is how often the tick prunes (default 10 min).
	RetainHistory, RetainEvents, PruneEvery time.Duration
	// The automatic reviewer (audit.go). AutoApprove > 0 approves an audit
	// that has been in review that long on the service clock (half as long
	// once sped up); AutoReject rejects, at the same moment (at the next
	// tick when AutoApprove is off), an audit whose page titles or ext
	// values match, with AutoRejectReason. Both off: only the admin API
	// decides.
	AutoApprove      time.Duration
	AutoReject       *regexp.Regexp
	AutoRejectReason string
	// ReviewPage is how many due audits the automatic reviewer reads at a
	// time (256), so a backlog of any size costs it bounded memory.
	ReviewPage int
	// ReviewSettle is how long, in real time, an audit the reject rule did
	// not match must have been seen before the reviewer stops rereading
	// the audits up to it (a minute); ReviewRescan how often it rereads
	// them all anyway (ten minutes), so an audit a stalled transaction
	// committed below its watermark is judged late rather than never.
	// Tests shorten them.
	ReviewSettle, ReviewRescan time.Duration
	// NoSpeedupClasses are first-level categories whose audits cannot be
	// sped up (89403); none by default.
	NoSpeedupClasses []string
	// TesterCap is how many testers a mini program may bind (85002); WeChat
	// publishes it only as an image that varies by account: 15 by default.
	TesterCap int
	// AutoGrant > 0 approves privacy-API applications, category reviews
	// and plugin applications once they have waited that long on the
	// service clock (grants.go); 0 leaves them to the admin API.
	AutoGrant time.Duration
	// CategoryPerMonth (getcategory limit, 53300) and CategoryMax
	// (category_limit, 53301) are unpublished caps: 5 and 20, as sampled.
	CategoryPerMonth int
	CategoryMax      int
	// MaxPendingPushes caps the pushes one platform has waiting in the
	// outbox (DefaultMaxPendingPushes): queuing one more fails the one
	// waiting longest for an attempt, so a receiver that hangs cannot make
	// a backlog grow without bound (docs/storage.md, Pushes waiting).
	MaxPendingPushes int
}

// DefaultMaxPendingPushes is the default MaxPendingPushes: far above what
// a platform's quotas let it queue in the hour its retries last (a ticket
// push at a time, 200 audits a month), far below a backlog that takes a
// hung receiver days to drain (at 4 attempts per 5 s, 1,000 pushes of 13
// attempts each take 4.5 h).
const DefaultMaxPendingPushes = 1000

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.TokenTTL, 7200*time.Second)
	def(&c.PreAuthTTL, 600*time.Second)
	def(&c.AuthCodeTTL, 600*time.Second)
	def(&c.TicketTTL, 12*time.Hour)
	def(&c.TicketEvery, 10*time.Minute)
	def(&c.ScanDuration, 3*time.Second)
	c.ScanDuration = max(c.ScanDuration, 0) // negative: no scan
	if c.MaxTemplates == 0 {
		c.MaxTemplates = 200
	}
	if c.AuditQuota == 0 {
		c.AuditQuota = 200
	}
	if c.SpeedupQuota == 0 {
		c.SpeedupQuota = 10
	}
	if c.UndoPerDay == 0 {
		c.UndoPerDay = 5
	}
	if c.UndoPerMonth == 0 {
		c.UndoPerMonth = 10
	}
	def(&c.MediaTTL, 72*time.Hour)
	if c.TesterCap == 0 {
		c.TesterCap = 15
	}
	if c.CategoryPerMonth == 0 {
		c.CategoryPerMonth = 5
	}
	if c.CategoryMax == 0 {
		c.CategoryMax = 20
	}
	if c.MaxPendingPushes <= 0 {
		c.MaxPendingPushes = DefaultMaxPendingPushes
	}
	def(&c.RetainHistory, DefaultRetainHistory)
	def(&c.RetainEvents, DefaultRetainEvents)
	def(&c.PruneEvery, 10*time.Minute)
	if c.ReviewPage <= 0 {
		c.ReviewPage = 256
	}
	if c.ReviewSettle <= 0 {
		c.ReviewSettle = time.Minute
	}
	if c.ReviewRescan <= 0 {
		c.ReviewRescan = 10 * time.Minute
	}
	if c.AutoRejectReason == "" {
		c.AutoRejectReason = "1:小程序内容不符合规范:<br>(1):页面标题或配置命中审核规则。<br>"
	}
	if c.DefaultPermissionSets == nil {
		c.DefaultPermissionSets = []int{17, 18, 19, 25, 30, 31, 36, 37, 40, 45, 48, 49, 51, 52, 57, 65, 67, 70, 71, 73, 76, 81, 84, 85, 86, 88, 93, 99, 102, 104, 105, 112, 116, 117, 118, 119, 120, 129, 130, 131, 132, 133, 135}
	}
}

// Permission sets the code-management endpoints need.
const (
	PermCodeManagement = 18
	PermCategory       = 30
	PermQRCode         = 86
)

// Service is the code-management system. It is safe for concurrent use and
// holds no state that several server instances could disagree on: its
// caches hold what never changes (parsed templates, issued tokens) or what
// is checked against the store in the request's transaction (grants, by
// revision; see authcache.go).
type Service struct {
	store miniship.Store
	clock miniship.Clock
	rand  io.Reader
	log   *slog.Logger
	cfg   Config

	tplCache tplCache
	derived  derivedCache // derived version answers (derive.go)
	onEngine func(time.Duration)

	lastSweep atomic.Int64 // unix nanos of the last expired-token sweep
	// rejectSettled: with only AutoReject, the pending audits up to this
	// id were judged and match no rule; rejectSeen is the candidate a tick
	// found, taken once it has aged ReviewSettle (review.go).
	rejectSettled atomic.Int64
	rejectMu      sync.Mutex
	rejectSeen    rejectCandidate
	rejectRescan  time.Time        // real time of the last full reading
	realNow       func() time.Time // time.Now; tests replace it

	tokens tokenCache  // access tokens seen (authcache.go)
	grants grantsCache // mini programs' engine grants, by revision

	listKeys pageKeys // where authorizer-list pages ended (pagekeys.go)

	// lastMediaSweep is the unix nanos of the last expired-media sweep.
	lastMediaSweep atomic.Int64
	lastPrune      atomic.Int64 // unix nanos of the last Prune by the tick
	trims          trimCounter  // commits per mini program since its last trim
}

// Options wires a Service. Clock, Rand and Logger default to the wall
// clock, crypto/rand and slog.Default().
type Options struct {
	Store  miniship.Store
	Clock  miniship.Clock
	Rand   io.Reader
	Logger *slog.Logger
	Config Config
	// OnEngine, when set, is told how long each run of the ext_json engine
	// took (a commit's validate and merge), for metrics.
	OnEngine func(time.Duration)
}

// New returns a Service.
func New(o Options) *Service {
	s := &Service{store: o.Store, clock: o.Clock, rand: o.Rand, log: o.Logger, cfg: o.Config, onEngine: o.OnEngine, realNow: time.Now}
	if s.clock == nil {
		s.clock = wallClock{}
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.cfg.defaults()
	s.tplCache = newTplCache(s.cfg.TemplateCacheBytes)
	s.derived = derivedCache{newLRU[*derivedVersion](derivedCacheBytes)}
	return s
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Now is the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Store exposes the store for the admin API's read-only listings.
func (s *Service) Store() miniship.Store { return s.store }

// newToken returns an opaque random credential. The shape (long, URL-safe)
// resembles WeChat's so clients that validate lengths are not surprised.
func (s *Service) newToken(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		panic("miniship: random source failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) newHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		panic("miniship: random source failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// notFound maps the store's ErrNotFound to the errcode the caller documents
// and passes every other error through.
func notFound(err error, code wxerr.Code, detail string) error {
	if errors.Is(err, miniship.ErrNotFound) {
		return wxerr.New(code, detail)
	}
	return err
}

func (s *Service) view(ctx context.Context, fn func(miniship.Tx) error) error {
	return s.store.View(ctx, fn)
}

// read is view for reads that need not see one snapshot (Store.Read): a
// grant check and the row a request reads.
func (s *Service) read(ctx context.Context, fn func(miniship.Tx) error) error {
	return s.store.Read(ctx, fn)
}

func (s *Service) update(ctx context.Context, fn func(miniship.Tx) error) error {
	return s.store.Update(ctx, fn)
}

// chinaTime is UTC+8 without DST; a fixed zone needs no tzdata on the host.
var chinaTime = time.FixedZone("CST", 8*3600)
