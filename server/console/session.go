package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Cookie names.
const (
	sessionCookie = "sluice_session"
	loginCookie   = "sluice_login" // the CSRF token of the login form (double submit)
)

// sessionTTL is how long a console session lasts without use.
const sessionTTL = 12 * time.Hour

// session is one logged-in browser.
type session struct {
	user    string
	csrf    string
	expires time.Time
	saved   time.Time // expires as last written to the data directory
}

// sessions holds the logged-in browsers, keyed by the SHA-256 of their
// cookie, and keeps them in the data directory (session_store.go) so that
// a restart of the server does not log everyone out. Neither the map nor
// the file holds a cookie value itself.
type sessions struct {
	mu   sync.Mutex
	m    map[string]*session
	path string // "" keeps them in memory only
	log  *slog.Logger
	now  func() time.Time
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// key is what a session is found by: the hash of its cookie's value.
func key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func (s *sessions) create(user string) (id string, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.m { // drop expired ones as new ones come
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	id = newToken()
	sess = &session{user: user, csrf: newToken(), expires: now.Add(sessionTTL)}
	s.m[key(id)] = sess
	s.save()
	return id, sess
}

// get returns the live session of the request's cookie, extending it.
func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(c.Value)
	sess := s.m[k]
	now := s.now()
	if sess == nil || now.After(sess.expires) {
		if sess != nil {
			delete(s.m, k)
			s.save()
		}
		return nil
	}
	sess.expires = now.Add(sessionTTL)
	if sess.expires.Sub(sess.saved) > saveEvery { // not a write per request
		s.save()
	}
	return sess
}

func (s *sessions) drop(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.m, key(c.Value))
		s.save()
		s.mu.Unlock()
	}
}

// cookie makes a cookie the browser sends back only to this site, never
// to scripts, and only over TLS when the browser reached the console over
// TLS: its own, or a reverse proxy's that says so in X-Forwarded-Proto.
func cookie(r *http.Request, secure bool, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure || r.TLS != nil || forwardedHTTPS(r)}
}

// forwardedHTTPS reports whether a reverse proxy says the browser's
// request came over https (X-Forwarded-Proto, as Caddy sets it by default
// and nginx with proxy_set_header). The header is trusted from anyone: a
// client that forges it only makes its own cookie stricter. A proxy chain
// lists the first hop (the browser's) first.
func forwardedHTTPS(r *http.Request) bool {
	v := r.Header.Get("X-Forwarded-Proto")
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), "https")
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// limiter counts failed logins per client IP: after max failures within
// window, further attempts are refused until the window has passed.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (l *limiter) recent(ip string, now time.Time) []time.Time {
	var keep []time.Time
	for _, t := range l.fails[ip] {
		if now.Sub(t) < l.window {
			keep = append(keep, t)
		}
	}
	l.fails[ip] = keep
	return keep
}

// blocked reports whether ip has used up its attempts.
func (l *limiter) blocked(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(ip, time.Now())) >= l.max
}

func (l *limiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[ip] = append(l.recent(ip, time.Now()), time.Now())
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
