package sqlstore

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// deafProxy forwards TCP to PostgreSQL and can hold what PostgreSQL sends
// to the connections that ran LISTEN: a listener that hears nothing while
// its connection stays up.
type deafProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	held bool
	cond *sync.Cond
}

func newDeafProxy(t *testing.T, target string) *deafProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ok(t, err)
	p := &deafProxy{ln: ln}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(func() { p.hold(false); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			var listens atomic.Bool
			go p.pipe(s, c, func(b []byte) {
				if bytes.Contains(b, []byte("LISTEN ")) {
					listens.Store(true)
				}
			})
			go p.pipe(c, s, func([]byte) {
				p.mu.Lock()
				for p.held && listens.Load() {
					p.cond.Wait()
				}
				p.mu.Unlock()
			})
		}
	}()
	return p
}

// pipe copies from src to dst, calling each before it writes.
func (p *deafProxy) pipe(dst, src net.Conn, each func([]byte)) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			each(buf[:n])
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *deafProxy) hold(on bool) {
	p.mu.Lock()
	p.held = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

// TestPostgresReadCacheDeafListener: a server whose listener stops hearing
// (its connection up) stops serving its cache, and its own writes, which
// wait for that listener in memory, return within its lease.
func TestPostgresReadCacheDeafListener(t *testing.T) {
	dsn := postgresSchema(t)
	u, err := url.Parse(dsn)
	ok(t, err)
	proxy := newDeafProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	w, err := OpenPostgres(t.Context(), dsn)
	ok(t, err)
	t.Cleanup(func() { w.Close() })
	r, err := OpenPostgres(t.Context(), u.String())
	ok(t, err)
	t.Cleanup(func() { r.Close() })
	r.peer.lease = time.Second
	update(t, w, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}))
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa", Categories: cats(0)}))
		return tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa",
			PermissionSets: []int{18}, CreatedAt: at(1), UpdatedAt: at(1)})
	})
	readCategories(t, r)
	waitCacheOn(t, r)
	readCategories(t, r)

	proxy.hold(true)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = r.Update(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorizer("wxa")
		if err != nil {
			return err
		}
		a.Categories = cats(1)
		return tx.UpdateAuthorizer(a)
	})
	ok(t, err) // a hang would end in the context's error
	c, _ := readCategories(t, r)
	equal(t, c, cats(1))
	c, _ = readCategories(t, w)
	equal(t, c, cats(1))
}
