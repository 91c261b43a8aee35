package managesieve

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/sieve"
	"github.com/sluicemail/sluice/server/sieve/scripts"
)

// session is one client connection.
type session struct {
	srv  *Server
	conn net.Conn
	rd   *reader
	w    *bufio.Writer
	tls  bool
	user string // "" until authenticated
}

func (ss *session) run() {
	ss.capabilities()
	ss.reply("OK", "", "sluice ManageSieve ready")
	for {
		ss.conn.SetDeadline(time.Now().Add(ss.srv.opts.Timeout))
		if err := ss.w.Flush(); err != nil {
			return
		}
		words, err := ss.rd.command()
		if errors.Is(err, errSyntax) {
			ss.reply("NO", "", err.Error())
			continue
		}
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				ss.reply("BYE", "", "idle too long")
			} else if !errors.Is(err, net.ErrClosed) && err.Error() != "EOF" {
				ss.reply("BYE", "", err.Error())
			}
			ss.w.Flush()
			return
		}
		if len(words) == 0 {
			ss.reply("NO", "", "empty command")
			continue
		}
		if !ss.dispatch(words[0], words[1:]) {
			ss.w.Flush()
			return
		}
	}
}

// reply writes OK, NO or BYE with an optional response code and text.
func (ss *session) reply(kind, code, text string) {
	ss.w.WriteString(kind)
	if code != "" {
		ss.w.WriteString(" (" + code + ")")
	}
	if text != "" {
		ss.w.WriteString(" " + quote(text))
	}
	ss.w.WriteString("\r\n")
}

// capabilities lists what the server offers (RFC 5804 section 1.7):
// AUTHENTICATE only once the connection is encrypted.
func (ss *session) capabilities() {
	line := func(k, v string) {
		ss.w.WriteString(quote(k))
		if v != "" || k == "SASL" {
			ss.w.WriteString(" " + quote(v))
		}
		ss.w.WriteString("\r\n")
	}
	line("IMPLEMENTATION", "sluice")
	line("SIEVE", sieve.Capabilities())
	if ss.tls {
		line("SASL", "PLAIN")
	} else {
		line("SASL", "")
		if ss.srv.opts.TLSConfig != nil {
			line("STARTTLS", "")
		}
	}
	line("MAXREDIRECTS", strconv.Itoa(4))
	if ss.user != "" {
		line("OWNER", ss.user)
	}
	line("VERSION", "1.0")
}

// dispatch runs one command; false ends the session.
func (ss *session) dispatch(cmd string, args []string) bool {
	switch cmd {
	case "LOGOUT":
		ss.reply("OK", "", "bye")
		return false
	case "CAPABILITY":
		ss.capabilities()
		ss.reply("OK", "", "")
	case "NOOP":
		if len(args) > 0 {
			ss.reply("OK", "TAG "+quote(args[0]), "done")
		} else {
			ss.reply("OK", "", "done")
		}
	case "STARTTLS":
		return ss.startTLS()
	case "AUTHENTICATE":
		return ss.authenticate(args)
	default:
		if ss.user == "" {
			ss.reply("NO", "", "authenticate first")
			return true
		}
		ss.scriptCommand(cmd, args)
	}
	return true
}

func (ss *session) startTLS() bool {
	if ss.tls || ss.srv.opts.TLSConfig == nil {
		ss.reply("NO", "", "STARTTLS not available")
		return true
	}
	ss.reply("OK", "", "begin TLS negotiation")
	if err := ss.w.Flush(); err != nil {
		return false
	}
	tc := tls.Server(ss.conn, ss.srv.opts.TLSConfig)
	tc.SetDeadline(time.Now().Add(time.Minute))
	if err := tc.Handshake(); err != nil {
		ss.srv.log.Info("managesieve: TLS handshake failed", "remote", ss.conn.RemoteAddr().String(), "err", err)
		return false
	}
	ss.setConn(tc)
	ss.tls = true
	// RFC 5804 section 2.2: the capabilities again, as they changed.
	ss.capabilities()
	ss.reply("OK", "", "TLS active")
	return true
}

// authenticate does SASL PLAIN (RFC 4616), with the initial response in
// the command or after an empty challenge.
func (ss *session) authenticate(args []string) bool {
	switch {
	case ss.user != "":
		ss.reply("NO", "", "already authenticated")
		return true
	case !ss.tls:
		ss.reply("NO", "ENCRYPT-NEEDED", "STARTTLS first")
		return true
	case len(args) == 0 || !strings.EqualFold(args[0], "PLAIN"):
		ss.reply("NO", "", "only PLAIN is supported")
		return true
	}
	resp := ""
	if len(args) > 1 {
		resp = args[1]
	} else {
		ss.w.WriteString("\"\"\r\n")
		if err := ss.w.Flush(); err != nil {
			return false
		}
		words, err := ss.rd.words()
		if err != nil || len(words) != 1 {
			ss.reply("NO", "", "authentication failed")
			return err == nil
		}
		resp = words[0]
		if resp == "*" {
			ss.reply("NO", "", "authentication cancelled")
			return true
		}
	}
	user, err := ss.checkPlain(resp)
	if err != nil {
		ss.srv.log.Info("managesieve: authentication failed", "remote", ss.conn.RemoteAddr().String(), "err", err)
		ss.reply("NO", "", "authentication failed")
		return true
	}
	ss.user = user
	ss.srv.log.Info("managesieve: authenticated", "user", user, "remote", ss.conn.RemoteAddr().String())
	ss.reply("OK", "", "authenticated")
	return true
}

func (ss *session) checkPlain(resp string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return "", err
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return "", errors.New("malformed PLAIN response")
	}
	authz, user, pass := parts[0], strings.ToLower(parts[1]), parts[2]
	if authz != "" && !strings.EqualFold(authz, user) {
		return "", fmt.Errorf("authorization as %s is not allowed", authz)
	}
	if err := ss.srv.opts.Auth.Authenticate(user, pass); err != nil {
		return "", err
	}
	return user, nil
}

// scriptCommand runs the commands on scripts, once authenticated.
func (ss *session) scriptCommand(cmd string, args []string) {
	st := ss.srv.opts.Scripts
	need := map[string]int{"PUTSCRIPT": 2, "CHECKSCRIPT": 1, "SETACTIVE": 1, "GETSCRIPT": 1,
		"LISTSCRIPTS": 0, "DELETESCRIPT": 1, "RENAMESCRIPT": 2, "HAVESPACE": 2}
	n, ok := need[cmd]
	if !ok {
		ss.reply("NO", "", "unknown command "+cmd)
		return
	}
	if len(args) != n {
		ss.reply("NO", "", fmt.Sprintf("%s takes %d arguments", cmd, n))
		return
	}
	var err error
	switch cmd {
	case "PUTSCRIPT":
		err = st.Put(ss.user, args[0], args[1])
	case "CHECKSCRIPT":
		_, err = st.Check(args[0])
	case "SETACTIVE":
		err = st.SetActive(ss.user, args[0])
	case "DELETESCRIPT":
		err = st.Delete(ss.user, args[0])
	case "RENAMESCRIPT":
		err = st.Rename(ss.user, args[0], args[1])
	case "HAVESPACE":
		size, perr := strconv.Atoi(args[1])
		if perr != nil || size < 0 {
			ss.reply("NO", "", "size must be a number")
			return
		}
		err = st.HaveSpace(ss.user, args[0], size)
	case "GETSCRIPT":
		var text string
		if text, err = st.Get(ss.user, args[0]); err == nil {
			ss.w.WriteString(literalOut(text) + "\r\n")
		}
	case "LISTSCRIPTS":
		var list []scripts.Info
		if list, err = st.List(ss.user); err == nil {
			for _, i := range list {
				ss.w.WriteString(quote(i.Name))
				if i.Active {
					ss.w.WriteString(" ACTIVE")
				}
				ss.w.WriteString("\r\n")
			}
		}
	}
	ss.result(cmd, args, err)
}

// result answers a script command with the response code RFC 5804
// section 1.3 gives each failure.
func (ss *session) result(cmd string, args []string, err error) {
	var se *sieve.Error
	switch {
	case err == nil:
		ss.reply("OK", "", "")
		if cmd == "PUTSCRIPT" || cmd == "SETACTIVE" || cmd == "DELETESCRIPT" || cmd == "RENAMESCRIPT" {
			ss.srv.log.Info("managesieve: "+strings.ToLower(cmd), "user", ss.user, "script", args[0])
		}
	case errors.As(err, &se):
		ss.reply("NO", "", se.Error())
	case errors.Is(err, scripts.ErrNotFound):
		ss.reply("NO", "NONEXISTENT", "no such script")
	case errors.Is(err, scripts.ErrActive):
		ss.reply("NO", "ACTIVE", "the active script cannot be deleted")
	case errors.Is(err, scripts.ErrExists):
		ss.reply("NO", "ALREADYEXISTS", "a script of that name exists")
	case errors.Is(err, scripts.ErrQuota):
		code := "QUOTA"
		if errors.Is(err, scripts.ErrMaxSize) {
			code = "QUOTA/MAXSIZE"
		} else if errors.Is(err, scripts.ErrMaxScripts) {
			code = "QUOTA/MAXSCRIPTS"
		}
		ss.reply("NO", code, err.Error())
	case errors.Is(err, scripts.ErrBadName):
		ss.reply("NO", "", err.Error())
	default:
		ss.srv.log.Warn("managesieve: "+strings.ToLower(cmd)+" failed", "user", ss.user, "err", err)
		ss.reply("NO", "TRYLATER", "server error")
	}
}
