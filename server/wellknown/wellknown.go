// Package wellknown serves what the web listeners of a mail server answer
// for: the MTA-STS policy at https://mta-sts.<domain>/.well-known/mta-sts.txt
// (RFC 8461 section 3.3), and the account settings mail clients look up:
// Thunderbird's autoconfig XML (config-v1.1.xml) and Outlook's
// autodiscover POX. ACME challenges are answered in front of it by
// package certs.
package wellknown

import (
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/sluicemail/sluice/server/mtasts"
)

// Options describe the server to the clients.
type Options struct {
	Hostname string         // the host mail clients connect to
	Domains  []string       // the local domains
	Policy   *mtasts.Policy // our MTA-STS policy; nil serves none
	// Ports of the client listeners; 0 leaves one out.
	IMAPS, IMAP, Submissions, Submission int
}

// Handler serves the policy and the autoconfiguration files.
type Handler struct {
	opts    Options
	domains map[string]bool
}

// New returns a Handler.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, domains: map[string]bool{}}
	for _, d := range opts.Domains {
		h.domains[strings.ToLower(d)] = true
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	switch r.URL.Path {
	case "/.well-known/mta-sts.txt":
		h.policy(w, r, host)
	case "/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml":
		h.autoconfig(w, r, host)
	case "/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml":
		h.autodiscover(w, r)
	default:
		http.NotFound(w, r)
	}
}

// policy answers only on mta-sts.<local domain> (section 3.3).
func (h *Handler) policy(w http.ResponseWriter, r *http.Request, host string) {
	d, ok := strings.CutPrefix(host, "mta-sts.")
	if !ok || !h.domains[d] || h.opts.Policy == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, h.opts.Policy.String())
}

// domainFor picks the domain a request is about: the emailaddress
// parameter, else the autoconfig.<domain> host, else the first domain.
func (h *Handler) domainFor(host, email string) string {
	if _, d, ok := strings.Cut(email, "@"); ok && h.domains[strings.ToLower(d)] {
		return strings.ToLower(d)
	}
	if d, ok := strings.CutPrefix(host, "autoconfig."); ok && h.domains[d] {
		return d
	}
	if len(h.opts.Domains) > 0 {
		return h.opts.Domains[0]
	}
	return ""
}

type server struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Username       string `xml:"username"`
	Authentication string `xml:"authentication"`
}

type clientConfig struct {
	XMLName  xml.Name `xml:"clientConfig"`
	Version  string   `xml:"version,attr"`
	Provider struct {
		ID          string   `xml:"id,attr"`
		Domain      []string `xml:"domain"`
		DisplayName string   `xml:"displayName"`
		Incoming    []server `xml:"incomingServer"`
		Outgoing    []server `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

// autoconfig writes Thunderbird's config-v1.1.xml: our IMAP and
// submission listeners, TLS first, the full address as user name.
func (h *Handler) autoconfig(w http.ResponseWriter, r *http.Request, host string) {
	d := h.domainFor(host, r.URL.Query().Get("emailaddress"))
	var c clientConfig
	c.Version = "1.1"
	c.Provider.ID, c.Provider.Domain, c.Provider.DisplayName = d, h.opts.Domains, d+" mail"
	add := func(list *[]server, typ string, port int, socket string) {
		if port != 0 {
			*list = append(*list, server{typ, h.opts.Hostname, port, socket, "%EMAILADDRESS%", "password-cleartext"})
		}
	}
	p := &c.Provider
	add(&p.Incoming, "imap", h.opts.IMAPS, "SSL")
	add(&p.Incoming, "imap", h.opts.IMAP, "STARTTLS")
	add(&p.Outgoing, "smtp", h.opts.Submissions, "SSL")
	add(&p.Outgoing, "smtp", h.opts.Submission, "STARTTLS")
	writeXML(w, c)
}

func writeXML(w http.ResponseWriter, v any) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	fmt.Fprintf(w, "%s%s\n", xml.Header, b)
}
