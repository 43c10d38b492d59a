package service_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// mediaCountingStore counts the media reads made inside write
// transactions.
type mediaCountingStore struct {
	miniship.Store
	inUpdate atomic.Int64
}

func (s *mediaCountingStore) Update(ctx context.Context, fn func(miniship.Tx) error) error {
	return s.Store.Update(ctx, func(tx miniship.Tx) error { return fn(mediaCountingTx{tx, s}) })
}

type mediaCountingTx struct {
	miniship.Tx
	s *mediaCountingStore
}

func (t mediaCountingTx) GetMedia(id string) (*miniship.Media, error) {
	t.s.inUpdate.Add(1)
	return t.Tx.GetMedia(id)
}

func (t mediaCountingTx) MediaInfo(id string) (*miniship.Media, error) {
	t.s.inUpdate.Add(1)
	return t.Tx.MediaInfo(id)
}

// submit_audit checks its mediaids outside the write transaction: on
// SQLite that transaction holds the only writer, and loading megabytes of
// screenshots in it raised another tenant's write latency a hundredfold.
func TestSubmitAuditReadsNoMediaInWriteTx(t *testing.T) {
	ctx := context.Background()
	store := &mediaCountingStore{}
	svc, clk, seeded := demoService(t, service.Config{},
		func(inner miniship.Store) miniship.Store { store.Store = inner; return store })
	c := demoCaller(demo.ShopA)
	if err := svc.Commit(ctx, c, service.CommitRequest{TemplateID: seeded.TemplateID, ExtJSON: `{"ext":{"shopName":"A"}}`, UserVersion: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // past the privacy scan
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, service.MaxImageSize-16)...)
	var pics []string
	for range 4 {
		m, err := svc.UploadMedia(ctx, c, png)
		if err != nil {
			t.Fatal(err)
		}
		pics = append(pics, m.MediaID)
	}
	store.inUpdate.Store(0)
	bad := service.SubmitAuditRequest{PrivacyAPINotUse: true, PreviewInfo: &service.PreviewInfo{PicIDList: append(pics, "nosuchmedia")}}
	if _, err := svc.SubmitAudit(ctx, c, bad); wxerr.CodeOf(err) != wxerr.InvalidPreviewInfo {
		t.Fatalf("submit with an unknown mediaid: %v", err)
	}
	good := service.SubmitAuditRequest{PrivacyAPINotUse: true, PreviewInfo: &service.PreviewInfo{PicIDList: pics}}
	if _, err := svc.SubmitAudit(ctx, c, good); err != nil {
		t.Fatalf("submit: %v", err)
	}
	if n := store.inUpdate.Load(); n != 0 {
		t.Fatalf("submit_audit read media %d times inside its write transaction", n)
	}
}

// BenchmarkOtherTenantWrite measures a small write of another mini
// program while four loops submit audits that name four 2 MB screenshots
// and fail on the last mediaid.
//
//	go test -run '^$' -bench OtherTenantWrite -benchtime 200x ./service
func BenchmarkOtherTenantWrite(b *testing.B) {
	ctx := context.Background()
	var store miniship.Store
	svc, clk, seeded := demoService(b, service.Config{}, func(s miniship.Store) miniship.Store { store = s; return s })
	c := demoCaller(demo.ShopA)
	if err := svc.Commit(ctx, c, service.CommitRequest{TemplateID: seeded.TemplateID, ExtJSON: `{"ext":{"shopName":"A"}}`, UserVersion: "1.0.0"}); err != nil {
		b.Fatal(err)
	}
	clk.Advance(time.Minute)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, service.MaxImageSize-16)...)
	var pics []string
	for range 4 {
		m, err := svc.UploadMedia(ctx, c, png)
		if err != nil {
			b.Fatal(err)
		}
		pics = append(pics, m.MediaID)
	}
	bad := service.SubmitAuditRequest{PrivacyAPINotUse: true, PreviewInfo: &service.PreviewInfo{PicIDList: append(pics, "nosuchmedia")}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				svc.SubmitAudit(ctx, c, bad)
			}
		})
	}
	b.ResetTimer()
	for range b.N {
		if err := store.Update(ctx, func(tx miniship.Tx) error { _, err := tx.AddCounter("other-tenant", 1); return err }); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
}
