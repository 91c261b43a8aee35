package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
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
}

// sessions holds the logged-in browsers in memory: a restart logs
// everyone out, which is acceptable for an operator's console.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *sessions) create(user string) (id string, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, v := range s.m { // drop expired ones as new ones come
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	id = newToken()
	sess = &session{user: user, csrf: newToken(), expires: now.Add(sessionTTL)}
	s.m[id] = sess
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
	sess := s.m[c.Value]
	if sess == nil || time.Now().After(sess.expires) {
		delete(s.m, c.Value)
		return nil
	}
	sess.expires = time.Now().Add(sessionTTL)
	return sess
}

func (s *sessions) drop(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.m, c.Value)
		s.mu.Unlock()
	}
}

// cookie makes a cookie the browser sends back only to this site, never
// to scripts, and only over TLS when the console is served over TLS.
func cookie(r *http.Request, secure bool, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure || r.TLS != nil}
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
