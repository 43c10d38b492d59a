package wxerr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestIsAndFrom(t *testing.T) {
	err := fmt.Errorf("commit: %w", New(TemplateNotExist, "template_id 9"))
	if !errors.Is(err, TemplateNotExist) || errors.Is(err, InvalidExtJSON) {
		t.Fatalf("errors.Is by code failed for %v", err)
	}
	if !errors.Is(err, &Error{Code: TemplateNotExist}) {
		t.Fatal("errors.Is with an *Error target failed")
	}
	e := From(err)
	if e.Code != TemplateNotExist || e.Msg != "template not exist: template_id 9" {
		t.Fatalf("From = %+v", e)
	}
	if got := From(errors.New("disk full")); got.Code != SystemError {
		t.Fatalf("plain errors must become -1, got %d", got.Code)
	}
	if got := From(fmt.Errorf("x: %w", ConcurrentLimit)); got.Code != ConcurrentLimit || got.Msg != "concurrent limit" {
		t.Fatalf("a bare Code must become its *Error, got %+v", got)
	}
	if CodeOf(nil) != OK {
		t.Fatal("CodeOf(nil) != 0")
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		msg, wantMsg, wantRID string
	}{
		{"template not exist rid: 672b19e9-4827b1e5-4b1a2ce7", "template not exist", "672b19e9-4827b1e5-4b1a2ce7"},
		{"ok", "ok", ""},
		{"a rid: b rid: c", "a rid: b", "c"},
	} {
		e := Parse(85014, tc.msg)
		if e.Msg != tc.wantMsg || e.RID != tc.wantRID {
			t.Errorf("Parse(%q) = %q, %q", tc.msg, e.Msg, e.RID)
		}
		if tc.wantRID != "" && e.WireMsg(e.RID) != tc.msg {
			t.Errorf("WireMsg does not round-trip %q: %q", tc.msg, e.WireMsg(e.RID))
		}
	}
}

// Every constant has an official text: a missing one would answer
// "unknown error" on the wire.
func TestEveryCodeHasText(t *testing.T) {
	for code, text := range texts {
		if text == "" || code.Text() != text {
			t.Errorf("code %d has no text", code)
		}
	}
	if Code(12345).Text() != "unknown error" {
		t.Fatal("unknown codes must say so")
	}
}

// TestWireMsgBounded: a message that quotes a huge input is cut at a
// character boundary; the rid always follows.
func TestWireMsgBounded(t *testing.T) {
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"short", "bad", "bad rid: r1"},
		{"at the bound", strings.Repeat("a", MaxWireMsg), strings.Repeat("a", MaxWireMsg) + " rid: r1"},
		{"ascii over", strings.Repeat("a", 100<<10), strings.Repeat("a", MaxWireMsg) + "… rid: r1"},
		// 3-byte runes: 1024 is not a boundary; 1023 is.
		{"cjk over", strings.Repeat("中", 400), strings.Repeat("中", 341) + "… rid: r1"},
	} {
		got := (&Error{Code: TesterNotExist, Msg: tc.msg}).WireMsg("r1")
		if got != tc.want {
			t.Errorf("%s: WireMsg = %.80q… (%d bytes), want %d bytes", tc.name, got, len(got), len(tc.want))
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s: not UTF-8", tc.name)
		}
	}
}
