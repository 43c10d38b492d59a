package sqlstore

import (
	"context"
	"errors"
	"testing"

	"github.com/miniship/miniship"
)

// testRead: Read sees what was committed, refuses writes on both backends
// (PostgreSQL's pool would take them), and the lean reads the hot
// endpoints use answer as the full ones do.
func testRead(t *testing.T, s miniship.Store) {
	cats := []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 1, SecondID: 2}}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa", Categories: cats}))
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxb"}))
		return tx.CreateVersion(&miniship.Version{AuthorizerAppID: "wxa", UserVersion: "1.0.0"})
	})
	read := func(fn func(tx miniship.Tx) error) error { return s.Read(t.Context(), fn) }
	ok(t, read(func(tx miniship.Tx) error {
		equal(t, must[[]miniship.Category](t)(tx.AuthorizerCategories("wxa")), cats)
		equal(t, must[[]miniship.Category](t)(tx.AuthorizerCategories("wxb")), []miniship.Category(nil))
		_, err := tx.AuthorizerCategories("nope")
		wantErr(t, err, miniship.ErrNotFound)
		equal(t, must[bool](t)(tx.HasVersion("wxa")), true)
		equal(t, must[bool](t)(tx.HasVersion("wxb")), false)
		return nil
	}))

	for name, write := range map[string]func(tx miniship.Tx) error{
		"exec":      func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}) },
		"returning": func(tx miniship.Tx) error { _, err := tx.AddCounter("n", 1); return err },
		"version": func(tx miniship.Tx) error {
			return tx.CreateVersion(&miniship.Version{AuthorizerAppID: "wxb", UserVersion: "9"})
		},
	} {
		err := read(write)
		if !errors.Is(err, errWriteInRead) {
			t.Errorf("%s inside Read: %v, want errWriteInRead", name, err)
		}
	}
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetPlatform("wxp")
		wantErr(t, err, miniship.ErrNotFound)
		equal(t, must[bool](t)(tx.HasVersion("wxb")), false)
		_, err = tx.GetCounter("n")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wantErr(t, s.Read(ctx, func(tx miniship.Tx) error { return nil }), context.Canceled)
}
