package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen.SMTP != "127.0.0.1:2525" || c.Listen.Admin != "127.0.0.1:8025" {
		t.Errorf("listen = %+v", c.Listen)
	}
	if !filepath.IsAbs(c.Data) || filepath.Base(c.Data) != "sluice-data" {
		t.Errorf("data = %q", c.Data)
	}
	if !c.IsLocal("EXAMPLE.TEST.") || c.IsLocal("example.org") {
		t.Error("IsLocal")
	}
	if c.Limits.MessageSize != 25<<20 || c.Queue.Expire.D() != 120*time.Hour || !c.Submission.FromMatch() {
		t.Errorf("defaults: %+v %v", c.Limits, c.Queue.Expire)
	}
}

func TestExampleConfig(t *testing.T) {
	c, err := Load("../../examples/sluice.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Relay.Smarthost != nil && c.Relay.Smarthost.Port == 0 {
		t.Error("smarthost port not defaulted")
	}
	if len(c.Domains) == 0 || c.Listen.SMTP == "" {
		t.Errorf("example: %+v", c)
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.yaml")
	os.WriteFile(p, []byte("domains: [a.example]\ndata: d\nrules: r\ndns: {zonefile: z.zone}\ndkim: {keys: [{domain: a.example, selector: s, key: k.pem}]}\n"), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []string{c.Data, c.Rules, c.DNS.Zonefile, c.DKIM.Keys[0].Key} {
		if filepath.Dir(got) != dir {
			t.Errorf("%q not under %q", got, dir)
		}
	}
}

// Each broken config must fail with an error naming the key and its line.
func TestErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "domains: [a.example]\nlisten:\n  smpt: 127.0.0.1:25\n", []string{"3:", "smpt"}},
		{"bad address", "domains: [a.example]\nlisten:\n  smtp: localhost\n", []string{"t.yaml:3:", "listen.smtp"}},
		{"bad tls mode", "domains: [a.example]\nrelay:\n  smarthost:\n    host: smtp.example\n    tls: maybe\n", []string{"t.yaml:5:", "relay.smarthost.tls", "maybe"}},
		{"bad size", "domains: [a.example]\nlimits:\n  message_size: lots\n", []string{"3:", "lots"}},
		{"bad duration", "domains: [a.example]\nqueue:\n  expire: forever\n", []string{"3:", "forever"}},
		{"no domains", "data: x\n", []string{"domains", "at least one"}},
		{"wrong type", "domains: a.example\n", []string{"1:", "domains"}},
		{"small line limit", "domains: [a.example]\nlimits:\n  line_length: 80\n", []string{"t.yaml:3:", "limits.line_length"}},
		{"cert without key", "domains: [a.example]\ntls:\n  cert: c.pem\n", []string{"t.yaml:3:", "tls"}},
		{"bad dns server", "domains: [a.example]\ndns:\n  servers: [1.1.1.1]\n", []string{"t.yaml:3:", "dns.servers[0]"}},
		{"percent over 100", "domains: [a.example]\nlimits:\n  min_free_percent: 120\n", []string{"t.yaml:3:", "limits.min_free_percent"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "t.yaml", t.TempDir())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestUnits(t *testing.T) {
	for in, want := range map[string]Size{"1024": 1024, "25MB": 25 << 20, "512 KiB": 512 << 10, "1g": 1 << 30, "1.5k": 1536} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "MB", "12XB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "5d": 120 * time.Hour, "1h30m": 90 * time.Minute} {
		got, err := ParseDuration(in)
		if err != nil || got.D() != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
}

func TestSelfSignedCertificate(t *testing.T) {
	c, err := Parse([]byte("domains: [a.example]\nhostname: mx.a.example\n"), "t", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tc, self, err := c.TLSConfig()
	if err != nil || !self || len(tc.Certificates) != 1 {
		t.Fatalf("TLSConfig: %v %v", self, err)
	}
	// A second call reuses the files rather than generating a new key.
	first, _ := os.ReadFile(filepath.Join(c.Data, "tls", "cert.pem"))
	if _, _, err := c.TLSConfig(); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(c.Data, "tls", "cert.pem"))
	if string(first) != string(second) {
		t.Error("certificate regenerated")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("domains: [a.example]\n"))
	f.Add([]byte("domains: [a.example]\nlisten: {smtp: ':25'}\nlimits: {message_size: 10MB}\n"))
	f.Add([]byte("relay: {smarthost: {host: h, tls: tls}}\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz", "/tmp")
		if err == nil && len(c.Domains) == 0 {
			t.Error("accepted a config without domains")
		}
	})
}

// The disk headroom keys: a size and a percentage, 100MB when neither is
// set.
func TestMinFree(t *testing.T) {
	for _, tc := range []struct {
		yaml    string
		size    Size
		percent float64
	}{
		{"domains: [a.example]\n", 100 << 20, 0},
		{"domains: [a.example]\nlimits: {min_free: 1GB, min_free_percent: 5}\n", 1 << 30, 5},
		{"domains: [a.example]\nlimits: {min_free_percent: 2.5}\n", 0, 2.5},
	} {
		c, err := Parse([]byte(tc.yaml), "t", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if c.Limits.MinFree != tc.size || c.Limits.MinFreePercent != tc.percent {
			t.Errorf("%q: min_free %v, min_free_percent %v", tc.yaml, c.Limits.MinFree, c.Limits.MinFreePercent)
		}
	}
}
