package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// The login and session cookies are Secure when the browser reached the
// console over TLS: the console's own, or a reverse proxy's that says so
// with X-Forwarded-Proto: https. Over plain HTTP they are not (the
// browser would not send them back).
func TestCookieSecureBehindTLS(t *testing.T) {
	f := newFixture(t)
	tlsSrv := httptest.NewTLSServer(New(f.opts))
	t.Cleanup(tlsSrv.Close)
	for _, tc := range []struct {
		name, base, proto string
		client            *http.Client
		secure            bool
	}{
		{"plain", f.srv.URL, "", f.client(), false},
		{"proxy over http", f.srv.URL, "http", f.client(), false},
		{"proxy over https", f.srv.URL, "https", f.client(), true},
		{"proxy chain from https", f.srv.URL, "HTTPS, http", f.client(), true},
		{"own TLS", tlsSrv.URL, "", tlsSrv.Client(), true},
	} {
		c := tc.client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		send := func(req *http.Request) *http.Response {
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		cookieOf := func(resp *http.Response, name string) *http.Cookie {
			for _, ck := range resp.Cookies() {
				if ck.Name == name {
					return ck
				}
			}
			t.Fatalf("%s: no %s cookie in %v", tc.name, name, resp.Header["Set-Cookie"])
			return nil
		}
		// The login form's CSRF cookie, then the session's.
		lc := cookieOf(send(get(tc.base+"/login")), loginCookie)
		_, body, _ := do(t, c, get(tc.base+"/login"))
		m := csrfRe.FindStringSubmatch(body)
		req := post(tc.base+"/login", url.Values{"username": {"admin@example.net"}, "password": {"password1"}, "csrf": {m[1]}})
		// The jar does not send a Secure cookie over plain HTTP: bring the
		// form's own token as the browser behind the proxy would.
		req.Header.Set("Cookie", loginCookie+"="+m[1])
		resp := send(req)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: login %d", tc.name, resp.StatusCode)
		}
		sc := cookieOf(resp, sessionCookie)
		if lc.Secure != tc.secure || sc.Secure != tc.secure || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode {
			t.Errorf("%s: login cookie Secure %v, session cookie %+v; want Secure %v", tc.name, lc.Secure, sc, tc.secure)
		}
	}
}
