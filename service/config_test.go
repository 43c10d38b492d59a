package service_test

import (
	"testing"
	"time"

	"github.com/miniship/miniship/service"
)

// TestScanDurationConfig: an unset ScanDuration is the 3 s scan, a
// negative one none (serve --scan-duration 0), any other itself.
func TestScanDurationConfig(t *testing.T) {
	for _, tc := range []struct{ set, want time.Duration }{
		{0, 3 * time.Second},
		{-1, 0},
		{time.Millisecond, time.Millisecond},
	} {
		if got := service.New(service.Options{Config: service.Config{ScanDuration: tc.set}}).Config().ScanDuration; got != tc.want {
			t.Errorf("ScanDuration %v: effective %v, want %v", tc.set, got, tc.want)
		}
	}
}
