// Package console is the web console of the admin listener: server-rendered
// pages (html/template, embedded; a little plain JavaScript that nothing
// needs for the essentials) for an operator who logs in with a sluice
// account that has the admin flag. It shows the health of each dependency,
// the recent verdicts live (server-sent events) with their explanation,
// the queue and the quarantine (retry, release, delete), the rules, and
// tries a pasted message against the live rules. Every page that lists
// something answers JSON to `Accept: application/json` or a bearer token
// (`sluice admin token`).
//
// Security: sessions are random 256-bit cookies (HttpOnly,
// SameSite=Strict, Secure under TLS or behind a reverse proxy that sends
// X-Forwarded-Proto: https); every form carries a CSRF token;
// failed logins are limited per client IP; message headers are hostile
// input and only ever reach the page through html/template's escaping or
// the DOM's textContent; a Content-Security-Policy allows no inline script.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/health"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/verdicts"
)

//go:embed templates static
var files embed.FS

// Options are what the console shows and acts on.
type Options struct {
	Accounts *auth.Accounts // logins; only accounts with the admin flag get in
	DataDir  string         // where `sluice admin token` records tokens
	Verdicts verdicts.Source
	Queue    *queue.Queue
	// Pipeline returns the live pipeline by name (inbound, outbound) for
	// "try a message"; DNS is the server's resolver.
	Pipeline func(name string) *engine.Pipeline
	// ShadowPipeline, when set (config shadow_rules), returns the shadow
	// rule set's pipeline: /try offers it beside the live rules.
	ShadowPipeline func(name string) *engine.Pipeline
	DNS            engine.Resolver
	// Ready runs the readiness checks (the same as /readyz).
	Ready func() health.Report
	// Readings are figures the overview shows beside the checks (free
	// disk, certificate expiry), as name and text.
	Readings func() [][2]string
	// RulesDir and RulesError describe the loaded rules: their directory
	// and the error of the last refused reload ("" if none).
	RulesDir   func() string
	RulesError func() string
	// RuleTests runs the rule tests of the loaded rules (nil: none shown).
	RuleTests func(ctx context.Context) []rules.TestResult
	// Secure marks cookies Secure even when the request came in plain
	// (behind a reverse proxy that terminates TLS).
	Secure bool
	Logger *slog.Logger
}

// Console is the console's HTTP handler.
type Console struct {
	opts     Options
	tmpl     *template.Template
	sessions sessions
	logins   limiter
	mux      *http.ServeMux
}

// New builds the console.
func New(o Options) *Console {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Console{opts: o, sessions: sessions{m: map[string]*session{}, path: sessionPath(o.DataDir), log: o.Logger, now: time.Now},
		logins: limiter{max: 5, window: 10 * time.Minute, fails: map[string][]time.Time{}}}
	c.sessions.load()
	c.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html"))
	static, _ := fs.Sub(files, "static")
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /login", c.loginForm)
	m.HandleFunc("POST /login", c.login)
	m.HandleFunc("POST /logout", c.guard(c.logout))
	m.HandleFunc("GET /{$}", c.guard(c.overview))
	m.HandleFunc("GET /verdicts", c.guard(c.verdictList))
	m.HandleFunc("GET /verdicts/{id}", c.guard(c.verdictOne))
	m.HandleFunc("GET /events", c.guard(c.events))
	m.HandleFunc("GET /try", c.guard(c.tryForm))
	m.HandleFunc("POST /try", c.guard(c.try))
	m.HandleFunc("GET /rules", c.guard(c.rules))
	m.HandleFunc("GET /queue", c.guard(c.queueList))
	m.HandleFunc("GET /queue/{id}", c.guard(c.queueOne))
	m.HandleFunc("POST /queue/{id}/{op}", c.guard(c.queueOp))
	m.HandleFunc("GET /quarantine", c.guard(c.quarantineList))
	m.HandleFunc("GET /quarantine/{id}", c.guard(c.quarantineOne))
	m.HandleFunc("POST /quarantine/{id}/{op}", c.guard(c.quarantineOp))
	c.mux = m
	return c
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// handler is a page or API behind the login; sess is nil for a bearer
// token (an API client, which carries no ambient credential and so needs
// no CSRF token).
type handler func(w http.ResponseWriter, r *http.Request, sess *session)

// guard lets through a logged-in admin (checking the CSRF token of every
// POST) or a bearer token; anyone else gets 401, or the login page for a
// browser asking for a page.
func (c *Console) guard(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := c.sessions.get(r)
		if sess == nil {
			if tok := bearer(r); tok != "" && auth.CheckAdminToken(c.opts.DataDir, tok) {
				h(w, r, nil)
				return
			}
			if wantsJSON(r) || r.Method != http.MethodGet || r.URL.Path == "/events" {
				http.Error(w, "401 unauthorized: log in, or send Authorization: Bearer with a token from `sluice admin token`", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !c.opts.Accounts.IsAdmin(sess.user) { // the flag was taken away
			c.sessions.drop(r)
			http.Error(w, "403 forbidden: this account no longer has console access", http.StatusForbidden)
			return
		}
		if r.Method == http.MethodPost && !sameToken(r.PostFormValue("csrf"), sess.csrf) {
			http.Error(w, "403 forbidden: missing or wrong CSRF token (reload the page)", http.StatusForbidden)
			return
		}
		h(w, r, sess)
	}
}

// wantsJSON reports whether the client asked for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || bearer(r) != ""
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string
	User  string
	CSRF  string
	Flash string
	Data  any
}

func (c *Console) render(w http.ResponseWriter, sess *session, name, title string, data any) {
	p := page{Title: title, Nav: name, Data: data}
	if sess != nil {
		p.User, p.CSRF = sess.user, sess.csrf
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := c.tmpl.ExecuteTemplate(w, name, p); err != nil {
		c.opts.Logger.Error("console: template", "page", name, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// back answers a browser's POST by returning it to a page (303), or an
// API client with JSON.
func back(w http.ResponseWriter, r *http.Request, sess *session, to string, result any) {
	if sess == nil || wantsJSON(r) {
		writeJSON(w, result)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

var funcs = template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return time.Since(t).Round(time.Second).String()
	},
	"clock": func(t time.Time) string { return t.Local().Format("15:04:05") },
	"json": func(v any) string {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	},
	"join": strings.Join,
}
