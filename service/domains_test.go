package service

import (
	"strings"
	"testing"
)

func TestParseDomain(t *testing.T) {
	for _, c := range []struct {
		scheme, in, norm string
		why              int
	}{
		{"https://", "https://api.example.com", "https://api.example.com", domainOK},
		{"https://", " HTTPS://API.Example.com/ ", "https://api.example.com", domainOK},
		{"https://", "https://api.example.com:8443", "https://api.example.com:8443", domainOK},
		{"wss://", "wss://ws.example.com", "wss://ws.example.com", domainOK},
		{"wss://", "wss://https://c.x.com", "", domainBadRule},
		{"https://", "http://api.example.com", "", domainBadScheme},
		{"https://", "https://1.2.3.4", "", domainBadRule},
		{"https://", "https://[::1]", "", domainBadRule},
		{"https://", "https://localhost", "", domainBadRule},
		{"https://", "https://a.example.com/path", "", domainBadRule},
		{"https://", "https://a.example.com:0", "", domainBadRule},
		{"https://", "https://a.example.com:70000", "", domainBadRule},
		{"https://", "https://-a.example.com", "", domainBadRule},
		{"https://", "https://a.example.123", "", domainBadRule},
		{"https://", "https://user@a.example.com", "", domainBadRule},
		{"https://", "https://api.weixin.qq.com", "", domainForbidden},
		{"tcp://", "tcp://t.example.com:9000", "tcp://t.example.com:9000", domainOK},
	} {
		norm, _, why := parseDomain(c.scheme, c.in, true)
		if norm != c.norm || why != c.why {
			t.Errorf("parseDomain(%q, %q) = %q, %d; want %q, %d", c.scheme, c.in, norm, why, c.norm, c.why)
		}
	}
	if _, _, why := parseDomain("https://", "https://a.example.com:8443", false); why != domainBadRule {
		t.Error("a port passed where none is allowed (business domains)")
	}
}

func TestPlatformMatch(t *testing.T) {
	list := []string{"shop.com", "api.other.com:8443"}
	for _, c := range []struct {
		hostport string
		server   bool
		web      bool
	}{
		{"shop.com", true, true},
		{"shop.com:9000", true, false},
		{"m.shop.com", false, true},
		{"evilshop.com", false, false},
		{"api.other.com:8443", true, false},
		{"api.other.com", false, false},
	} {
		if got := onPlatformList(list, c.hostport); got != c.server {
			t.Errorf("onPlatformList(%q) = %v", c.hostport, got)
		}
		if got := underPlatformList(list, c.hostport); got != c.web && !strings.Contains(c.hostport, ":") {
			t.Errorf("underPlatformList(%q) = %v", c.hostport, got)
		}
	}
}

// FuzzParseDomain: any input either fails or normalises to a fixed point
// that carries the scheme, never panics.
func FuzzParseDomain(f *testing.F) {
	for _, s := range []string{"https://a.example.com", "wss://https://c.x.com", "https://a.b.c:443/", "tcp://x.y:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, k := range domainKinds {
			norm, hp, why := parseDomain(k.scheme, in, true)
			if why != domainOK {
				continue
			}
			if !strings.HasPrefix(norm, k.scheme) || norm != k.scheme+hp {
				t.Fatalf("parseDomain(%q) = %q, %q", in, norm, hp)
			}
			if again, _, why := parseDomain(k.scheme, norm, true); why != domainOK || again != norm {
				t.Fatalf("%q normalises to %q, which parses to %q, %d", in, norm, again, why)
			}
		}
	})
}
