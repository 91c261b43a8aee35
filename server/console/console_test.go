package console

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/health"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/verdicts"
	"golang.org/x/crypto/bcrypt"
)

const testRules = `pipeline: inbound
rules:
  - name: prize-subject
    when: msg.subject contains "prize"
    action: junk
`

const testRuleTests = `pipeline: inbound
tests:
  - name: a prize goes to Junk
    raw: "From: a@example.org\nSubject: a prize\n\nhi\n"
    expect: {action: junk, rules: [prize-subject]}
  - name: the rest is accepted
    raw: "From: a@example.org\nSubject: hello\n\nhi\n"
    expect: {action: accept}
`

type fixture struct {
	t    *testing.T
	srv  *httptest.Server
	ring *verdicts.Ring
	dir  string
	opts Options // to start the console again on the same data directory
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	auth.HashCost = bcrypt.MinCost
	dir := t.TempDir()
	accounts, err := auth.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"admin@example.net", "user@example.net"} {
		if err := accounts.AddUser(u, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	accounts.SetAdmin("admin@example.net", true)
	rdir := filepath.Join(dir, "rules")
	os.MkdirAll(rdir, 0o755)
	os.WriteFile(filepath.Join(rdir, "inbound.yaml"), []byte(testRules), 0o644)
	os.WriteFile(filepath.Join(rdir, "inbound_test.yaml"), []byte(testRuleTests), 0o644)
	live, err := rules.NewLive(rdir, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The shadow set rejects what the live one junks.
	sdir := filepath.Join(dir, "rules-next")
	os.MkdirAll(sdir, 0o755)
	os.WriteFile(filepath.Join(sdir, "inbound.yaml"), []byte(strings.Replace(testRules, "action: junk", "action: reject", 1)), 0o644)
	shadow, err := rules.NewLive(sdir, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.Open(filepath.Join(dir, "queue"), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ring := verdicts.NewRing(100)
	src := &verdicts.Journaled{Source: ring, Dir: filepath.Join(dir, "journal")}
	opts := Options{Accounts: accounts, DataDir: dir, Verdicts: src, Queue: q,
		Pipeline:       func(n string) *engine.Pipeline { return live.Current().Pipeline(n) },
		ShadowPipeline: func(n string) *engine.Pipeline { return shadow.Current().Pipeline(n) },
		Ready:          func() health.Report { return health.Run(nil) },
		RulesDir:       live.Dir, RulesError: live.LastError,
		RuleTests: func(ctx context.Context) []rules.TestResult { return live.Current().RunTests(ctx) }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, ring: ring, dir: dir, opts: opts}
}

// client returns a browser-like client: cookies kept, redirects not followed.
func (f *fixture) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// login logs c in and returns the session's CSRF token.
func (f *fixture) login(c *http.Client, user, password string) (int, string) {
	f.t.Helper()
	_, body, _ := do(f.t, c, get(f.srv.URL+"/login"))
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		f.t.Fatalf("no csrf in the login form:\n%s", body)
	}
	code, _, _ := do(f.t, c, post(f.srv.URL+"/login", url.Values{"username": {user}, "password": {password}, "csrf": {m[1]}}))
	if code != http.StatusSeeOther {
		return code, ""
	}
	_, body, _ = do(f.t, c, get(f.srv.URL+"/verdicts"))
	m = csrfRe.FindStringSubmatch(body)
	if m == nil {
		f.t.Fatalf("no csrf on a page after login:\n%s", body)
	}
	return code, m[1]
}

func get(u string) *http.Request { r, _ := http.NewRequest("GET", u, nil); return r }

func post(u string, v url.Values) *http.Request {
	r, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestAnonymousIsRefused(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if code, _, h := do(t, c, get(f.srv.URL+"/verdicts")); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=") {
		t.Errorf("page without a session: %d %s", code, h.Get("Location"))
	}
	for _, path := range []string{"/verdicts", "/queue", "/quarantine", "/rules", "/"} {
		req := get(f.srv.URL + path)
		req.Header.Set("Accept", "application/json")
		if code, _, _ := do(t, c, req); code != http.StatusUnauthorized {
			t.Errorf("JSON %s without a session: %d", path, code)
		}
	}
	if code, _, _ := do(t, c, get(f.srv.URL+"/events")); code != http.StatusUnauthorized {
		t.Errorf("events without a session: %d", code)
	}
	if code, _, _ := do(t, c, post(f.srv.URL+"/quarantine/x/release", nil)); code != http.StatusUnauthorized {
		t.Errorf("POST without a session: %d", code)
	}
	req := get(f.srv.URL + "/queue")
	req.Header.Set("Authorization", "Bearer sluice_0000")
	if code, _, _ := do(t, c, req); code != http.StatusUnauthorized {
		t.Errorf("a made-up token: %d", code)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if code, _ := f.login(c, "admin@example.net", "wrong-password"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code, _ := f.login(c, "user@example.net", "password1"); code != http.StatusUnauthorized {
		t.Errorf("account without the admin flag: %d", code)
	}
	// The login form's CSRF token is required.
	if code, _, _ := do(t, c, post(f.srv.URL+"/login", url.Values{"username": {"admin@example.net"}, "password": {"password1"}})); code != http.StatusForbidden {
		t.Errorf("login without csrf: %d", code)
	}
	code, csrf := f.login(c, "admin@example.net", "password1")
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	// The session cookie is HttpOnly and SameSite=Strict.
	_, body, _ := do(t, c, get(f.srv.URL+"/login"))
	m := csrfRe.FindStringSubmatch(body)
	resp, err := c.Do(post(f.srv.URL+"/login", url.Values{"username": {"admin@example.net"}, "password": {"password1"}, "csrf": {m[1]}}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Secure {
		t.Errorf("session cookie %+v (plain HTTP: not Secure)", sc)
	}
	_, body, _ = do(t, c, get(f.srv.URL+"/verdicts")) // the second login's session
	csrf = csrfRe.FindStringSubmatch(body)[1]
	// A POST without the session's CSRF token is refused; with it, done.
	if code, _, _ := do(t, c, post(f.srv.URL+"/queue/nope/retry", nil)); code != http.StatusForbidden {
		t.Errorf("POST without csrf: %d", code)
	}
	if code, _, _ := do(t, c, post(f.srv.URL+"/queue/nope/retry", url.Values{"csrf": {csrf}})); code != http.StatusNotFound {
		t.Errorf("POST with csrf for an unknown id: %d", code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for range 5 {
		f.login(c, "admin@example.net", "wrong-password")
	}
	if code, _ := f.login(c, "admin@example.net", "password1"); code != http.StatusTooManyRequests {
		t.Errorf("after 5 failures: %d, want 429", code)
	}
}

// Message headers are hostile: a Subject and a From with markup come out
// as text in the page, and the page allows no inline script anyway.
func TestHostileHeadersAreEscaped(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	f.login(c, "admin@example.net", "password1")
	f.ring.Add(verdicts.Verdict{ID: "x1", Action: "accept", Subject: `<script>alert("subject")</script>`,
		From: `"<img src=x onerror=alert(1)>" <a@example.org>`, MailFrom: `"><b>@example.org`})
	for _, path := range []string{"/verdicts", "/verdicts/x1"} {
		_, body, h := do(t, c, get(f.srv.URL+path))
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, `"><b>`) {
			t.Errorf("%s: markup from a header reached the page unescaped", path)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;") {
			t.Errorf("%s: the subject is not shown as text", path)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, h.Get("Content-Security-Policy"))
		}
	}
}

func TestTryAndBearer(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	_, csrf := f.login(c, "admin@example.net", "password1")
	msg := "From: a@example.org\nTo: b@example.net\nSubject: You won a prize\n\nhello\n"
	_, body, _ := do(t, c, post(f.srv.URL+"/try", url.Values{"csrf": {csrf}, "message": {msg}, "ip": {"192.0.2.1"}, "pipeline": {"inbound"}, "zone": {"$ORIGIN .\n"}}))
	if !strings.Contains(body, "prize-subject") || !strings.Contains(body, `class="junk">junk`) {
		t.Errorf("try: no verdict in\n%s", body)
	}
	// The same message against the shadow rule set: its reject.
	_, body, _ = do(t, c, post(f.srv.URL+"/try", url.Values{"csrf": {csrf}, "message": {msg}, "ip": {"192.0.2.1"}, "pipeline": {"inbound"},
		"zone": {"$ORIGIN .\n"}, "rules": {"shadow"}}))
	if !strings.Contains(body, "prize-subject") || !strings.Contains(body, `class="reject">reject`) || !strings.Contains(body, `<option value="shadow" selected>`) {
		t.Errorf("try with the shadow rules:\n%s", body)
	}
	tok, err := auth.NewAdminToken(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.ring.Add(verdicts.Verdict{ID: "v1", Action: "reject", IP: "198.51.100.7"})
	f.ring.Add(verdicts.Verdict{ID: "v2", Action: "accept", IP: "192.0.2.9"})
	req := get(f.srv.URL + "/verdicts?action=reject")
	req.Header.Set("Authorization", "Bearer "+tok)
	code, body, _ := do(t, http.DefaultClient, req)
	var list []verdicts.Verdict
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list) != 1 || list[0].ID != "v1" {
		t.Errorf("bearer JSON: %d %v %s", code, err, body)
	}
}

// A new verdict reaches an open /events stream.
func TestEvents(t *testing.T) {
	f := newFixture(t)
	tok, _ := auth.NewAdminToken(f.dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/events?action=junk", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf) // the "connected" comment: subscribed
	if !strings.Contains(string(buf[:n]), "connected") {
		t.Fatalf("stream start: %q", buf[:n])
	}
	f.ring.Add(verdicts.Verdict{ID: "a", Action: "accept"})
	f.ring.Add(verdicts.Verdict{ID: "j", Action: "junk", Subject: "hi"})
	var got string
	for !strings.Contains(got, "event: verdict\nid: j\n") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("events %q: %v", got, err)
		}
		got += string(buf[:n])
	}
	if strings.Contains(got, "id: a\n") {
		t.Errorf("the filter let through another action: %q", got)
	}
}

// The rules page shows the loaded files and their tests' results (a set
// whose tests fail is never loaded, but a test can fail later: it may
// depend on live data such as a list file or the Bayes model).
func TestRulesPage(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	f.login(c, "admin@example.net", "password1")
	_, body, _ := do(t, c, get(f.srv.URL+"/rules"))
	for _, want := range []string{"Rule tests: 2", "all pass", "a prize goes to Junk", "inbound_test.yaml:6", "prize-subject", "The last reload succeeded"} {
		if !strings.Contains(body, want) {
			t.Errorf("rules page lacks %q", want)
		}
	}
}
