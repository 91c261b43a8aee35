package wellknown_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/mtasts"
	"github.com/sluicemail/sluice/server/wellknown"
)

func get(t *testing.T, h http.Handler, method, url, body string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(method, url, strings.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, w.Header().Get("Content-Type"), string(b)
}

func handler() http.Handler {
	return wellknown.New(wellknown.Options{Hostname: "mx.example.net", Domains: []string{"example.net", "example.org"},
		Policy: &mtasts.Policy{Mode: "testing", MX: []string{"mx.example.net"}, MaxAge: 7 * 24 * time.Hour},
		IMAPS:  993, IMAP: 143, Submissions: 465, Submission: 587})
}

// The policy is served on mta-sts.<local domain> only, as text/plain,
// and reads back as the policy a sender would apply.
func TestPolicy(t *testing.T) {
	h := handler()
	code, ct, body := get(t, h, "GET", "http://mta-sts.example.org/.well-known/mta-sts.txt", "")
	if code != 200 || ct != "text/plain" {
		t.Fatalf("%d %s %q", code, ct, body)
	}
	p, err := mtasts.ParsePolicy(body)
	if err != nil || p.Mode != "testing" || !p.MatchMX("mx.example.net") || p.MaxAge != 7*24*time.Hour {
		t.Errorf("served %q: %+v %v", body, p, err)
	}
	for _, url := range []string{"http://mta-sts.example.com/.well-known/mta-sts.txt", "http://mx.example.net/.well-known/mta-sts.txt"} {
		if code, _, _ := get(t, h, "GET", url, ""); code != 404 {
			t.Errorf("%s: %d, want 404", url, code)
		}
	}
}

func TestAutoconfig(t *testing.T) {
	code, _, body := get(t, handler(), "GET", "http://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=bob@example.org", "")
	var c struct {
		Provider struct {
			ID       string `xml:"id,attr"`
			Incoming []struct {
				Port   int    `xml:"port"`
				Socket string `xml:"socketType"`
				Host   string `xml:"hostname"`
				User   string `xml:"username"`
			} `xml:"incomingServer"`
			Outgoing []struct {
				Port int `xml:"port"`
			} `xml:"outgoingServer"`
		} `xml:"emailProvider"`
	}
	if err := xml.Unmarshal([]byte(body), &c); err != nil || code != 200 {
		t.Fatalf("%d %v\n%s", code, err, body)
	}
	p := c.Provider
	if p.ID != "example.org" || len(p.Incoming) != 2 || p.Incoming[0].Port != 993 || p.Incoming[0].Socket != "SSL" ||
		p.Incoming[0].Host != "mx.example.net" || p.Incoming[0].User != "%EMAILADDRESS%" || len(p.Outgoing) != 2 || p.Outgoing[1].Port != 587 {
		t.Errorf("autoconfig %+v\n%s", c, body)
	}
}

func TestAutodiscover(t *testing.T) {
	req := `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>` +
		`<EMailAddress>bob@example.net</EMailAddress></Request></Autodiscover>`
	code, _, body := get(t, handler(), "POST", "http://autodiscover.example.net/autodiscover/autodiscover.xml", req)
	var r struct {
		Protocols []struct {
			Type, Server, LoginName string
			Port                    int
		} `xml:"Response>Account>Protocol"`
	}
	if err := xml.Unmarshal([]byte(body), &r); err != nil || code != 200 {
		t.Fatalf("%d %v\n%s", code, err, body)
	}
	if len(r.Protocols) != 2 || r.Protocols[0].Type != "IMAP" || r.Protocols[0].Port != 993 || r.Protocols[1].Port != 465 ||
		r.Protocols[0].LoginName != "bob@example.net" || r.Protocols[0].Server != "mx.example.net" {
		t.Errorf("autodiscover %+v\n%s", r, body)
	}
}
