package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MediaType is the type of a gzipped report (RFC 8460 section 6.4).
const MediaType = "application/tlsrpt+gzip"

// Gzip returns the report as gzipped JSON (section 5.1).
func Gzip(rep *Report) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if err := json.NewEncoder(zw).Encode(rep); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// FileName is the attachment's name (section 5.1):
// submitter!policy-domain!begin!end!id.json.gz, times in Unix seconds.
func FileName(submitter, domain string, rep *Report) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(rep.ReportID))
	return fmt.Sprintf("%s!%s!%d!%d!%s.json.gz", submitter, domain, rep.DateRange.Start.Unix(), rep.DateRange.End.Unix(), id)
}

// Message builds the report mail of section 5.3: multipart/report with
// report-type "tlsrpt", a human part and the gzipped report, and the
// TLS-Report-Domain and TLS-Report-Submitter fields.
func Message(from, to, submitter, domain string, rep *Report, gz []byte, now time.Time) []byte {
	boundary := "tlsrpt-" + strings.NewReplacer("@", "-", ".", "-").Replace(rep.ReportID)
	var b strings.Builder
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", "<"+from+">")
	hdr("To", "<"+to+">")
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Subject", fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", domain, submitter, rep.ReportID))
	hdr("Message-ID", "<"+rep.ReportID+"."+domain+">")
	hdr("TLS-Report-Domain", domain)
	hdr("TLS-Report-Submitter", submitter)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/report; report-type="tlsrpt"; boundary="`+boundary+`"`)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
	fmt.Fprintf(&b, "This is an aggregate TLS report (RFC 8460) from %s about mail to %s,\r\nfor %s to %s UTC.\r\n",
		submitter, domain, rep.DateRange.Start.Format(time.DateTime), rep.DateRange.End.Format(time.DateTime))
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: " + MediaType + "\r\nContent-Transfer-Encoding: base64\r\n")
	b.WriteString(`Content-Disposition: attachment; filename="` + FileName(submitter, domain, rep) + `"` + "\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(gz)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--" + boundary + "--\r\n")
	return []byte(b.String())
}

// post sends the gzipped report to an https: rua (section 5.4); any 2xx
// is success.
func (r *Reporter) post(ctx context.Context, url string, gz []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(gz))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", MediaType)
	resp, err := r.opts.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return nil
}
