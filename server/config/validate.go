package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// fieldError is one invalid value, named by its YAML path ("$.listen.smtp").
type fieldError struct {
	path string
	msg  string
}

func (c *Config) validate() []fieldError {
	var errs []fieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, fieldError{path, fmt.Sprintf(format, args...)})
	}
	if len(c.Domains) == 0 {
		bad("$.domains", "at least one local domain is required")
	}
	for i, d := range c.Domains {
		if d == "" || strings.ContainsAny(d, "@ []/:") {
			bad(fmt.Sprintf("$.domains[%d]", i), "%q is not a domain name", d)
		}
	}
	for _, l := range []struct{ key, addr string }{
		{"smtp", c.Listen.SMTP}, {"submission", c.Listen.Submission},
		{"submissions", c.Listen.Submissions}, {"imap", c.Listen.IMAP},
		{"imaps", c.Listen.IMAPS}, {"admin", c.Listen.Admin},
		{"http", c.Listen.HTTP}, {"https", c.Listen.HTTPS},
		{"managesieve", c.Listen.ManageSieve},
	} {
		if l.addr == "" {
			continue
		}
		if err := checkHostPort(l.addr); err != nil {
			bad("$.listen."+l.key, "%v", err)
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("$.tls", "cert and key must be given together")
	}
	if len(c.DNS.Servers) > 0 && c.DNS.Zonefile != "" {
		bad("$.dns", "servers and zonefile exclude each other")
	}
	for i, s := range c.DNS.Servers {
		if err := checkHostPort(s); err != nil {
			bad(fmt.Sprintf("$.dns.servers[%d]", i), "%v", err)
		}
	}
	errs = append(errs, c.Relay.validate()...)
	for i, k := range c.DKIM.Keys {
		p := fmt.Sprintf("$.dkim.keys[%d]", i)
		if k.Domain == "" || k.Selector == "" || k.Key == "" {
			bad(p, "domain, selector and key are all required")
		}
	}
	errs = append(errs, c.Limits.validate()...)
	errs = append(errs, c.validateForwarding()...)
	errs = append(errs, c.validateWeb()...)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("$.log.level", "unknown level %q (want debug, info, warn or error)", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("$.log.format", "unknown format %q (want text or json)", c.Log.Format)
	}
	return errs
}

func (r *Relay) validate() []fieldError {
	var errs []fieldError
	if r.Port < 1 || r.Port > 65535 {
		errs = append(errs, fieldError{"$.relay.port", fmt.Sprintf("port %d out of range", r.Port)})
	}
	s := r.Smarthost
	if s == nil {
		return errs
	}
	if s.Host == "" {
		errs = append(errs, fieldError{"$.relay.smarthost.host", "host is required"})
	}
	switch s.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
		if s.Port < 1 || s.Port > 65535 {
			errs = append(errs, fieldError{"$.relay.smarthost.port", fmt.Sprintf("port %d out of range", s.Port)})
		}
	default:
		errs = append(errs, fieldError{"$.relay.smarthost.tls", fmt.Sprintf("unknown mode %q (want none, starttls or tls)", s.TLS)})
	}
	if s.Username != "" && s.PasswordFile == "" {
		errs = append(errs, fieldError{"$.relay.smarthost.password_file", "a username needs a password_file"})
	}
	return errs
}

func (l *Limits) validate() []fieldError {
	var errs []fieldError
	if l.LineLength < 1000 {
		errs = append(errs, fieldError{"$.limits.line_length", "must be at least 1000 (RFC 5321 4.5.3.1.6)"})
	}
	if l.Recipients < 100 {
		errs = append(errs, fieldError{"$.limits.recipients", "must be at least 100 (RFC 5321 4.5.3.1.8)"})
	}
	if l.HeaderSize > l.MessageSize {
		errs = append(errs, fieldError{"$.limits.header_size", "larger than message_size"})
	}
	if l.MinFreePercent < 0 || l.MinFreePercent >= 100 {
		errs = append(errs, fieldError{"$.limits.min_free_percent", "must be a percentage from 0 to under 100"})
	}
	for _, v := range []struct {
		key string
		n   int
	}{{"connections", l.Connections}, {"connections_per_ip", l.ConnectionsPerIP}, {"auth_failures_per_ip", l.AuthFailuresPerIP}} {
		if v.n < 0 {
			errs = append(errs, fieldError{"$.limits." + v.key, "must not be negative"})
		}
	}
	return errs
}

func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port (e.g. 127.0.0.1:25 or [::]:25)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: invalid port", addr)
	}
	return nil
}

// locate turns field errors into one error whose lines read
// "file:line: key: message", finding each key's line in the YAML source.
func locate(data []byte, name string, errs []fieldError) error {
	file, perr := parser.ParseBytes(data, 0)
	var lines []string
	for _, e := range errs {
		key := strings.TrimPrefix(e.path, "$.")
		line := 0
		if perr == nil {
			line = lineOf(file, e.path)
		}
		if line > 0 {
			lines = append(lines, fmt.Sprintf("%s:%d: %s: %s", name, line, key, e.msg))
		} else {
			lines = append(lines, fmt.Sprintf("%s: %s: %s", name, key, e.msg))
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}

// lineOf finds the line of the node at path, or of its nearest parent that
// exists in the file (a missing key is reported where its parent is).
func lineOf(file *ast.File, path string) int {
	for p := path; p != "$" && p != ""; p = parent(p) {
		yp, err := yaml.PathString(p)
		if err != nil {
			continue
		}
		n, err := yp.FilterFile(file)
		if err == nil && n != nil && n.GetToken() != nil {
			return n.GetToken().Position.Line
		}
	}
	return 0
}

func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return "$"
	}
	return p[:i]
}
