package console

import (
	"net/http"
	"strings"
)

type loginData struct {
	Next  string
	Error string
	CSRF  string
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// loginForm shows the form with a fresh CSRF token, also set as a cookie:
// the POST must bring both, and a cross-site page can read neither.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, r, http.StatusOK, "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	tok := newToken()
	http.SetCookie(w, cookie(r, c.opts.Secure, loginCookie, tok, 3600))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	next := safeNext(r.FormValue("next"))
	if err := c.tmpl.ExecuteTemplate(w, "login", page{Title: "Log in", Data: loginData{Next: next, Error: msg, CSRF: tok}}); err != nil {
		c.opts.Logger.Error("console: template", "page", "login", "err", err)
	}
}

// login checks the CSRF token, the rate limit, the password and the admin
// flag, in that order, and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), ck.Value) {
		http.Error(w, "403 forbidden: missing or wrong CSRF token (reload the login page)", http.StatusForbidden)
		return
	}
	ip := clientIP(r)
	if c.logins.blocked(ip) {
		c.opts.Logger.Warn("console: login refused, too many failures", "ip", ip)
		c.showLogin(w, r, http.StatusTooManyRequests, "Too many failed logins from your address; wait a few minutes.")
		return
	}
	user := strings.TrimSpace(r.PostFormValue("username"))
	if err := c.opts.Accounts.Authenticate(user, r.PostFormValue("password")); err != nil || !c.opts.Accounts.IsAdmin(user) {
		c.logins.fail(ip)
		c.opts.Logger.Warn("console: login failed", "ip", ip, "user", user)
		c.showLogin(w, r, http.StatusUnauthorized, "Wrong user name or password, or the account has no console access (sluice user admin ADDRESS on).")
		return
	}
	id, _ := c.sessions.create(strings.ToLower(user))
	http.SetCookie(w, cookie(r, c.opts.Secure, sessionCookie, id, int(sessionTTL.Seconds())))
	http.SetCookie(w, cookie(r, c.opts.Secure, loginCookie, "", -1))
	c.opts.Logger.Info("console: login", "ip", ip, "user", user)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	c.sessions.drop(r)
	http.SetCookie(w, cookie(r, c.opts.Secure, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
