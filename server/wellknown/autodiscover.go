package wellknown

import (
	"encoding/xml"
	"io"
	"net/http"
)

// Outlook's "Plain Old XML" autodiscover ([MS-OXDSCLI]): the client POSTs
// its address, we answer with the IMAP and SMTP settings.

type adRequest struct {
	Email string `xml:"Request>EMailAddress"`
}

type adProtocol struct {
	Type         string `xml:"Type"`
	Server       string `xml:"Server"`
	Port         int    `xml:"Port"`
	LoginName    string `xml:"LoginName"`
	SSL          string `xml:"SSL"`
	Encryption   string `xml:"Encryption,omitempty"`
	SPA          string `xml:"SPA"`
	AuthRequired string `xml:"AuthRequired"`
}

type adResponse struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLNS   string `xml:"xmlns,attr"`
		Account struct {
			AccountType string       `xml:"AccountType"`
			Action      string       `xml:"Action"`
			Protocol    []adProtocol `xml:"Protocol"`
		} `xml:"Account"`
	} `xml:"Response"`
}

func (h *Handler) autodiscover(w http.ResponseWriter, r *http.Request) {
	var req adRequest
	if r.Method == http.MethodPost {
		// A malformed request still gets the settings, without a login name.
		_ = xml.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req)
	}
	var resp adResponse
	resp.Response.XMLNS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	a := &resp.Response.Account
	a.AccountType, a.Action = "email", "settings"
	add := func(typ string, port int, ssl, enc string) {
		if port != 0 {
			a.Protocol = append(a.Protocol, adProtocol{typ, h.opts.Hostname, port, req.Email, ssl, enc, "off", "on"})
		}
	}
	switch {
	case h.opts.IMAPS != 0:
		add("IMAP", h.opts.IMAPS, "on", "")
	case h.opts.IMAP != 0:
		add("IMAP", h.opts.IMAP, "on", "TLS")
	}
	switch {
	case h.opts.Submissions != 0:
		add("SMTP", h.opts.Submissions, "on", "")
	case h.opts.Submission != 0:
		add("SMTP", h.opts.Submission, "on", "TLS")
	}
	writeXML(w, resp)
}
