package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/outbox"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

func init() { commands = append(commands, newServeCmd) }

type serveFlags struct {
	addr, data, database, adminKey, clockMode string
	logLevel                                  slog.Level
	demo                                      bool
	readCache                                 bool
	scan, commitLatency                       time.Duration
	faults                                    []httpapi.FaultRule
	daily, perMinute                          []limit
	autoApprove                               time.Duration
	autoReject                                *regexp.Regexp
	// shutdownGrace is how long SIGTERM waits for requests in flight.
	shutdownGrace               time.Duration
	autoGrant                   time.Duration // privacy, category, plugin applications
	metricsAddr                 string        // --metrics-addr: /metrics on its own listener
	templateCacheMB             int           // parsed-template cache bound
	bodyMemoryMB                int           // request bodies held at once
	retainHistory, retainEvents time.Duration
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the WeChat-compatible code-management server",
		Long: `Run the server: the WeChat API at api.weixin.qq.com's paths, the consent page
and the admin API under /miniship/v1. Every flag falls back to an environment
variable (MINISHIP_ADDR, MINISHIP_DATA, ...).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := serve(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
				// The server's own failure (a port taken, a database it
				// cannot open), not a usage error's 2.
				fmt.Fprintln(cmd.ErrOrStderr(), "miniship: "+err.Error())
				return exitError{1}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Var(check(&f.addr, env(cmd, "addr", "MINISHIP_ADDR", "127.0.0.1:8080"), "string", listenAddr), "addr", "listen address, host:port; port 0 picks a free one (MINISHIP_ADDR)")
	fl.StringVar(&f.data, "data", env(cmd, "data", "MINISHIP_DATA", "./miniship-data"), "data directory for the SQLite database and the admin key (MINISHIP_DATA)")
	fl.StringVar(&f.database, "database", env(cmd, "database", "MINISHIP_DATABASE", ""), "database: empty for SQLite in --data, or postgres://... (MINISHIP_DATABASE)")
	fl.Var(check(&f.adminKey, env(cmd, "admin-key", "MINISHIP_ADMIN_KEY", ""), "string", adminKey), "admin-key", "admin API key; generated and kept in --data when not given (MINISHIP_ADMIN_KEY)")
	fl.BoolVar(&f.demo, "demo", env(cmd, "demo", "MINISHIP_DEMO", false), "seed demo data once and print how to try it (MINISHIP_DEMO=1)")
	fl.BoolVar(&f.readCache, "read-cache", env(cmd, "read-cache", "MINISHIP_READ_CACHE", true), "PostgreSQL: answer get_category and get_auditstatus from a cache kept exact across servers; false reads the database every time (MINISHIP_READ_CACHE)")
	fl.Var(check(&f.clockMode, env(cmd, "clock", "MINISHIP_CLOCK", "real"), "string", clockMode), "clock", "real, or manual: time stands still until POST /miniship/v1/clock/advance (MINISHIP_CLOCK)")
	fl.Var(check(&f.logLevel, env(cmd, "log-level", "MINISHIP_LOG_LEVEL", slog.LevelInfo), "level", logLevel), "log-level", "debug, info, warn or error (MINISHIP_LOG_LEVEL)")
	fl.Var(duration(&f.scan, env(cmd, "scan-duration", "MINISHIP_SCAN_DURATION", 3*time.Second)), "scan-duration", "how long the privacy scan after a commit runs; 0 for none (MINISHIP_SCAN_DURATION)")
	fl.Var(duration(&f.commitLatency, env(cmd, "commit-latency", "MINISHIP_COMMIT_LATENCY", time.Duration(0))), "commit-latency", "real time a commit takes; a second commit meanwhile gets 9402202 (MINISHIP_COMMIT_LATENCY)")
	fl.Var(duration(&f.autoApprove, env(cmd, "auto-approve", "MINISHIP_AUTO_APPROVE", time.Duration(0))), "auto-approve", "approve every audit after it has been in review this long on the server clock; 0 leaves audits to POST /miniship/v1/audits/{auditid}/decision (MINISHIP_AUTO_APPROVE)")
	fl.Var(duration(&f.autoGrant, env(cmd, "auto-grant", "MINISHIP_AUTO_GRANT", time.Duration(0))), "auto-grant", "approve privacy-API, category and plugin applications after they have waited this long on the server clock; 0 leaves them to the admin API and /wxa/devplugin (MINISHIP_AUTO_GRANT)")
	fl.Var(check(&f.autoReject, env(cmd, "auto-reject-pattern", "MINISHIP_AUTO_REJECT_PATTERN", (*regexp.Regexp)(nil)), "regexp", rejectPattern), "auto-reject-pattern", "reject audits whose page titles or ext values match this regexp (MINISHIP_AUTO_REJECT_PATTERN)")
	fl.Var(checkList(&f.daily, env(cmd, "daily-limit", "MINISHIP_DAILY_LIMITS", []limit(nil)), parseLimit), "daily-limit", `per-caller daily quota of an endpoint, "/wxa/commit=100" or "*=1000" (45009; repeatable; MINISHIP_DAILY_LIMITS, ';'-separated); /wxa/uploadmedia=1000 holds unless it or "*" is named`)
	fl.Var(checkList(&f.perMinute, env(cmd, "minute-limit", "MINISHIP_MINUTE_LIMITS", []limit(nil)), parseLimit), "minute-limit", `per-caller per-minute limit of an endpoint, "/wxa/commit=10" (45011; repeatable; MINISHIP_MINUTE_LIMITS, ';'-separated)`)
	fl.Var(duration(&f.shutdownGrace, env(cmd, "shutdown-timeout", "MINISHIP_SHUTDOWN_TIMEOUT", 10*time.Second)), "shutdown-timeout", "on SIGTERM, how long requests in flight may finish before their connections are closed; 0 closes them at once (MINISHIP_SHUTDOWN_TIMEOUT)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", env(cmd, "metrics-addr", "MINISHIP_METRICS_ADDR", ""), "serve /metrics on this address instead of the API port, e.g. 127.0.0.1:9090 (MINISHIP_METRICS_ADDR)")
	fl.Var(duration(&f.retainHistory, env(cmd, "retain-history", "MINISHIP_RETAIN_HISTORY", service.DefaultRetainHistory)), "retain-history", "keep versions, audits and releases the API no longer returns this long; 0 keeps them for ever (MINISHIP_RETAIN_HISTORY)")
	fl.Var(duration(&f.retainEvents, env(cmd, "retain-events", "MINISHIP_RETAIN_EVENTS", service.DefaultRetainEvents)), "retain-events", "keep delivered and failed pushes with their attempts this long; 0 keeps them for ever (MINISHIP_RETAIN_EVENTS)")
	fl.Var(check(&f.templateCacheMB, env(cmd, "template-cache-mb", "MINISHIP_TEMPLATE_CACHE_MB", 256), "int", cacheMB), "template-cache-mb", fmt.Sprintf("memory for parsed templates in MiB, by the bytes of their files; 1 to %d (MINISHIP_TEMPLATE_CACHE_MB)", maxTemplateCacheMB))
	fl.Var(check(&f.bodyMemoryMB, env(cmd, "body-memory-mb", "MINISHIP_BODY_MEMORY_MB", httpapi.DefaultBodyMemory>>20), "int", bodyMB), "body-memory-mb", fmt.Sprintf("memory for request bodies in MiB, held at once by all requests; a platform takes at most a quarter; %d to %d (MINISHIP_BODY_MEMORY_MB)", minBodyMB, maxTemplateCacheMB))
	fl.Var(checkList(&f.faults, env(cmd, "fault", "MINISHIP_FAULTS", []httpapi.FaultRule(nil)), httpapi.ParseFaultRule), "fault", `inject faults: "path=/wxa/commit,rate=0.1,errcode=-1,delay=200ms" (repeatable; MINISHIP_FAULTS, ';'-separated)`)
	return cmd
}

// maxTemplateCacheMB bounds --template-cache-mb: 64 GiB, far above the
// default library's 200 templates, and far from overflowing bytes.
const maxTemplateCacheMB = 64 << 10

// checked is a flag value that parse reads and checks while the flags are
// parsed: a bad value is refused as pflag's own are, and so is a bad
// environment fallback (applyEnv), naming its variable.
type checked[T any] struct {
	p     *T
	typ   string
	parse func(string) (T, error)
}

// check declares a checked value of type typ (as the help shows it) in *p,
// def until set.
func check[T any](p *T, def T, typ string, parse func(string) (T, error)) checked[T] {
	*p = def
	return checked[T]{p, typ, parse}
}

func (v checked[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

func (v checked[T]) String() string { return fmt.Sprint(*v.p) }
func (v checked[T]) Type() string   { return v.typ }

// checkedList is a repeatable flag whose every value parse reads and
// checks while the flags are parsed, as checked does for one: a bad entry
// of its ';'-separated variable is refused naming the variable (applyEnv),
// not only quoted once serve runs.
type checkedList[T any] struct {
	p     *[]T
	given *[]string // as given, for String and GetSlice
	parse func(string) (T, error)
}

// checkList declares a checkedList in *p, def until set.
func checkList[T any](p *[]T, def []T, parse func(string) (T, error)) checkedList[T] {
	*p = def
	return checkedList[T]{p, new([]string), parse}
}

// Set appends: each --fault adds a rule. The first replaces the default,
// as pflag's own lists do.
func (v checkedList[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	if len(*v.given) == 0 {
		*v.p = nil
	}
	*v.p = append(*v.p, x)
	*v.given = append(*v.given, s)
	return nil
}

func (v checkedList[T]) Append(s string) error { return v.Set(s) }

func (v checkedList[T]) Replace(values []string) error {
	*v.p, *v.given = nil, nil
	for _, s := range values {
		if err := v.Set(s); err != nil {
			return err
		}
	}
	return nil
}

func (v checkedList[T]) GetSlice() []string { return *v.given }

// String is the values as the variable would list them.
func (v checkedList[T]) String() string { return strings.Join(*v.given, ";") }
func (v checkedList[T]) Type() string   { return "stringArray" }

// limit is one --daily-limit or --minute-limit: an endpoint's quota.
type limit struct {
	path string
	n    int
}

func parseLimit(s string) (limit, error) {
	path, n, err := httpapi.ParseLimit(s)
	return limit{path, n}, err
}

// duration is a duration flag that refuses negatives.
func duration(p *time.Duration, def time.Duration) checked[time.Duration] {
	return check(p, def, "duration", func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(s)
		if err == nil && d < 0 {
			err = errors.New("must not be negative")
		}
		return d, err
	})
}

// cacheMB reads --template-cache-mb.
func cacheMB(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxTemplateCacheMB {
		return 0, fmt.Errorf("want a whole number from 1 to %d", maxTemplateCacheMB)
	}
	return n, nil
}

// minBodyMB is the smallest --body-memory-mb: the body of the largest
// request, an upload of 10 MB with its framing.
const minBodyMB = httpapi.MinBodyMemory >> 20

// bodyMB reads --body-memory-mb; its ceiling is --template-cache-mb's.
func bodyMB(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < minBodyMB || n > maxTemplateCacheMB {
		return 0, fmt.Errorf("want a whole number from %d to %d", minBodyMB, maxTemplateCacheMB)
	}
	return n, nil
}

// adminKey reads --admin-key: a blank key would start a server whose
// admin API no request can use.
func adminKey(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("must not be blank: leave it out to have one generated into --data")
	}
	return s, nil
}

// listenAddr reads --addr: net.Listen takes an empty address for every
// interface on a random port, which nobody asking for a server means.
func listenAddr(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", errors.New("want host:port, e.g. 127.0.0.1:8080")
	}
	return s, nil
}

func clockMode(s string) (string, error) {
	if s != "real" && s != "manual" {
		return "", errors.New("must be real or manual")
	}
	return s, nil
}

// rejectPattern reads --auto-reject-pattern: empty for none.
func rejectPattern(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, nil
	}
	return regexp.Compile(s)
}

func logLevel(s string) (l slog.Level, err error) { return l, l.UnmarshalText([]byte(s)) }

func serve(ctx context.Context, f serveFlags, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: f.logLevel}))

	limits := httpapi.Limits{Daily: map[string]int{}, PerMinute: map[string]int{}}
	for _, l := range f.daily {
		limits.Daily[l.path] = l.n
	}
	for _, l := range f.perMinute {
		limits.PerMinute[l.path] = l.n
	}
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return err
	}
	dsn := f.database
	if dsn == "" {
		dsn = filepath.Join(f.data, "miniship.db")
	}
	var opts []sqlstore.Option
	if !f.readCache {
		opts = append(opts, sqlstore.WithoutReadCache())
	}
	store, err := sqlstore.Open(ctx, dsn, opts...)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer store.Close()
	var clk miniship.Clock = clock.Real{}
	var manual *clock.Manual
	if f.clockMode == "manual" {
		// Resume where the manual clock stood: starting again at the wall
		// clock would revive expired tokens or leave due events waiting.
		start, ok, err := service.StoredClock(ctx, store)
		if err != nil {
			return fmt.Errorf("read the manual clock: %w", err)
		}
		if !ok {
			start = time.Now().Truncate(time.Second)
		}
		manual = clock.NewManual(start)
		clk = manual
	}
	if f.adminKey == "" {
		if f.adminKey, err = loadOrCreateKey(filepath.Join(f.data, "admin.key"), log); err != nil {
			return err
		}
	}
	cfg := service.Config{ScanDuration: explicitZero(f.scan), CommitLatency: f.commitLatency, AutoApprove: f.autoApprove, AutoGrant: f.autoGrant,
		TemplateCacheBytes: int64(f.templateCacheMB) << 20, RetainHistory: explicitZero(f.retainHistory), RetainEvents: explicitZero(f.retainEvents),
		AutoReject: f.autoReject}
	metrics := httpapi.NewMetrics()
	svc := service.New(service.Options{Store: store, Clock: clk, Logger: log, Config: cfg, OnEngine: metrics.ObserveEngine})
	if manual != nil {
		if err := svc.SaveClock(ctx, manual.Now()); err != nil {
			return fmt.Errorf("store the manual clock: %w", err)
		}
	}
	api, err := httpapi.New(httpapi.Options{Service: svc, AdminKey: f.adminKey, Logger: log, Manual: manual, Faults: f.faults, Limits: limits,
		NoMetricsPath: f.metricsAddr != "", Metrics: metrics, BodyMemory: int64(f.bodyMemoryMB) << 20})
	if err != nil {
		return err
	}
	if f.metricsAddr != "" {
		stop, err := serveMetrics(ctx, f.metricsAddr, api.MetricsHandler(), log)
		if err != nil {
			return err
		}
		defer stop()
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if f.demo {
		if err := printDemo(ctx, svc, base, f, stdout); err != nil {
			ln.Close()
			return fmt.Errorf("demo data: %w", err)
		}
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // draft uploads can be 20 MB
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	// Due work first: after a restart no request is answered before what
	// fell due on the restored clock (auto-decisions, tickets) is done.
	svc.Tick(bg)
	go every(bg, time.Second, svc.Tick)
	deliverer := outbox.New(outbox.Options{Store: store, Clock: clk, Logger: log, OnDelivered: metrics.ObserveDelivery})
	go deliverer.Run(bg)

	log.Info("miniship listening", "url", base, "database", redactDSN(dsn), "clock", f.clockMode)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopBG()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), f.shutdownGrace)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A slow or stalled client must not turn a requested stop into a
		// failure: what it has not sent by now is not acknowledged, and
		// every acknowledged write is committed already.
		log.Warn("closing connections still open after the shutdown timeout", "timeout", f.shutdownGrace)
		err = srv.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// explicitZero maps a flag's 0 to the Config's negative, which the Config
// reads as none (ScanDuration) or keep for ever (RetainHistory,
// RetainEvents): its 0 means the default.
func explicitZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// every runs fn now and then at each interval until ctx ends.
func every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func loadOrCreateKey(path string, log *slog.Logger) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			log.Info("admin key loaded", "file", path)
			return k, nil
		}
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store admin key: %w", err)
	}
	log.Info("admin key generated", "file", path)
	return key, nil
}

func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "@"); i >= 0 && strings.Contains(dsn, "://") {
		return dsn[:strings.Index(dsn, "://")+3] + "…" + dsn[i:]
	}
	return dsn
}
