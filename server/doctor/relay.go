package doctor

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// relayForms is the open-relay battery the smtp tests also send: the
// classic relay-probe address forms (percent hack, bang paths, source
// routes, quoted local parts, address literals). Written for this project;
// see its header for the sources.
//
//go:embed relay-address-forms.yml
var relayForms []byte

type relayBattery struct {
	MailFrom []string `yaml:"mail_from_variants"`
	Forms    []struct {
		ID     string `yaml:"id"`
		Rcpt   string `yaml:"rcpt"`
		Expect string `yaml:"expect"`
	} `yaml:"rcpt_forms"`
}

// relayExternal is the domain the battery asks us to relay to: reserved
// (RFC 2606), so nothing could ever be delivered there.
const relayExternal = "relay-test.example"

// checkOpenRelay sends every RCPT form that must not be relayed to the
// running MX listener without authentication, as a stranger would, and
// fails on any that is accepted. No message is ever sent (no DATA).
func checkOpenRelay(ctx context.Context, env *Env) []Result {
	if env.SMTPAddr == "" || len(env.Domains) == 0 {
		return []Result{warn("", notRunning, "no SMTP listener configured to test")}
	}
	var b relayBattery
	if err := yaml.Unmarshal(relayForms, &b); err != nil {
		return []Result{fail("", "", "the relay battery does not parse: %v", err)}
	}
	relayIP := "127.0.0.1"
	if len(env.IPs) > 0 {
		relayIP = env.IPs[0].String()
	}
	fill := strings.NewReplacer("{relay_ip}", relayIP, "{relay}", env.Hostname, "{local}", env.Domains[0],
		"{external}", relayExternal, "{user}", "relaytest", "EXAMPLE.ORG", strings.ToUpper(relayExternal))
	s, err := dialSMTP(env.SMTPAddr, env.Timeout)
	if err != nil {
		return []Result{warn("", notRunning, "cannot reach %s: %v", env.SMTPAddr, err)}
	}
	defer s.close()
	var accepted, routed []string
	tried := 0
	for _, f := range b.Forms {
		if f.Expect == "accept" {
			continue
		}
		for _, from := range b.MailFrom {
			s.cmd("RSET")
			if r := s.cmd("MAIL FROM:" + fill.Replace(from)); !strings.HasPrefix(r, "2") {
				continue
			}
			tried++
			if r := s.cmd("RCPT TO:" + fill.Replace(f.Rcpt)); strings.HasPrefix(r, "2") && f.Expect == "reject" {
				accepted = append(accepted, f.ID)
			} else if strings.HasPrefix(r, "2") {
				routed = append(routed, f.ID)
			}
			if s.err != nil {
				return []Result{warn("", "", "the server closed the connection after %d probes: %v", tried, s.err)}
			}
		}
	}
	s.cmd("QUIT")
	if len(accepted) > 0 {
		return []Result{fail(env.SMTPAddr, "this is a bug: report it with these forms",
			"OPEN RELAY: accepted recipients at a foreign domain from an unauthenticated client: %s", strings.Join(uniq(accepted), ", "))}
	}
	if len(routed) > 0 {
		return []Result{warn(env.SMTPAddr, "make sure such addresses are delivered to a local mailbox, never routed on",
			"accepted routing forms at a local domain (percent hack, bang path): %s", strings.Join(uniq(routed), ", "))}
	}
	return []Result{ok(env.SMTPAddr, "refused all %d relay probes (%d address forms) from %s", tried, len(b.Forms), s.local)}
}

// smtpConv is a line-level SMTP conversation: the battery's forms must
// reach the server byte for byte, which a client library would tidy.
type smtpConv struct {
	c     net.Conn
	r     *bufio.Reader
	err   error
	local string
	t     time.Duration
}

func dialSMTP(addr string, timeout time.Duration) (*smtpConv, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	s := &smtpConv{c: c, r: bufio.NewReader(c), local: c.LocalAddr().String(), t: timeout}
	// A greeting delay (limits.greet_delay) is part of the wait.
	s.c.SetDeadline(time.Now().Add(timeout + 10*time.Second))
	if r := s.reply(); !strings.HasPrefix(r, "220") {
		c.Close()
		return nil, fmt.Errorf("greeting %q: %v", r, s.err)
	}
	if r := s.cmd("EHLO doctor.invalid"); !strings.HasPrefix(r, "250") {
		c.Close()
		return nil, fmt.Errorf("EHLO: %q %v", r, s.err)
	}
	return s, nil
}

func (s *smtpConv) cmd(line string) string {
	if s.err != nil {
		return ""
	}
	s.c.SetDeadline(time.Now().Add(s.t))
	if _, err := s.c.Write([]byte(line + "\r\n")); err != nil {
		s.err = err
		return ""
	}
	return s.reply()
}

// reply reads a whole (multi-line) reply and returns its last line.
func (s *smtpConv) reply() string {
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.err = err
			return line
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

func (s *smtpConv) close() { s.c.Close() }

func uniq(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
