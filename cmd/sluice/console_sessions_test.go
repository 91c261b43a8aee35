package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/console"
)

// A console session outlives a restart of the whole server on the same
// data directory; one whose expiry passed meanwhile does not.
func TestConsoleSessionSurvivesRestart(t *testing.T) {
	e := newE2E(t, e2eInbound)
	if err := e.in.accounts.SetAdmin("alice@example.net", true); err != nil {
		t.Fatal(err)
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	csrfRe := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
	login := func() string {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: noRedirect}
		base := "http://" + e.bound("admin")
		resp, err := c.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfRe.FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("no csrf on the login page:\n%s", b)
		}
		resp, err = c.PostForm(base+"/login", url.Values{"username": {"alice@example.net"}, "password": {"password1"}, "csrf": {m[1]}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, ck := range resp.Cookies() {
			if ck.Name == "sluice_session" && ck.Value != "" {
				return ck.Value
			}
		}
		t.Fatalf("login: %s, no session cookie", resp.Status)
		return ""
	}
	page := func(cookie string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+e.bound("admin")+"/verdicts", nil)
		req.AddCookie(&http.Cookie{Name: "sluice_session", Value: cookie})
		resp, err := (&http.Client{CheckRedirect: noRedirect}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	kept, expiring := login(), login()
	if page(kept) != http.StatusOK || page(expiring) != http.StatusOK {
		t.Fatal("the sessions do not work before the restart")
	}
	e.in.stop(5 * time.Second)

	// While the server is down, the second session's time runs out.
	path := filepath.Join(e.in.cfg.Data, console.SessionFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]map[string]any
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(expiring))
	if stored[hex.EncodeToString(sum[:])] == nil || len(stored) != 2 {
		t.Fatalf("session file %s", b)
	}
	stored[hex.EncodeToString(sum[:])]["expires"] = time.Now().Add(-time.Minute)
	b, _ = json.Marshal(stored)
	os.WriteFile(path, b, 0o600)

	if e.in, err = start(e.in.cfg, slog.New(slog.NewTextHandler(e.logs, nil))); err != nil {
		t.Fatal(err)
	}
	if got := page(kept); got != http.StatusOK {
		t.Errorf("after a restart the session gives %d, want 200", got)
	}
	if got := page(expiring); got != http.StatusSeeOther {
		t.Errorf("after a restart an expired session gives %d, want 303 to the login page", got)
	}
	if strings.Contains(string(b), kept) {
		t.Error("the session file holds a cookie")
	}
}
