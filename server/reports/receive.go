package reports

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // report mails come in every charset
)

// Receiving reports sent to our rua address: the report is an attachment
// (gzip, zip or plain XML; RFC 7489 section 7.2.1.1 names gzip, receivers
// use all three) or the body itself. It is parsed, checked for the fields
// a summary needs, and kept as JSON, one file per report.

var errNoReport = errors.New("reports: not a DMARC aggregate report")

// MaxReportSize bounds the XML taken from one attachment after
// decompression (a zip bomb is refused, not unpacked).
const MaxReportSize = 32 << 20

// Received is one report taken in, as kept.
type Received struct {
	At       time.Time `json:"received"`
	Feedback Feedback  `json:"feedback"`
}

// Ingest parses a report mail and keeps the report (fsynced before it
// returns). An error wrapping ErrStore is temporary; any other means the
// message holds no aggregate report.
func (s *Store) Ingest(raw []byte) error {
	fb, err := ParseMessage(raw)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(Received{At: s.opts.Now().UTC(), Feedback: *fb}, "", " ")
	if err != nil {
		return err
	}
	name := safeName(fb.Metadata.OrgName) + "!" + safeName(fb.Policy.Domain) + "!" + safeName(fb.Metadata.ReportID) + ".json"
	return writeFileSync(filepath.Join(s.dir, receivedDir, name), b)
}

// ParseMessage finds and parses the aggregate report in a mail.
func ParseMessage(raw []byte) (*Feedback, error) {
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("%w: %v", errNoReport, err)
	}
	var found *Feedback
	var firstErr error
	walk := func(path []int, part *message.Entity, err error) error {
		if found != nil || part == nil {
			return nil
		}
		doc, ok, rerr := attachment(part)
		if !ok {
			return nil
		}
		if rerr == nil {
			found, rerr = ParseXML(doc)
		}
		if rerr != nil && firstErr == nil {
			firstErr = rerr
		}
		return nil
	}
	if err := ent.Walk(walk); err != nil && found == nil {
		return nil, fmt.Errorf("%w: %v", errNoReport, err)
	}
	switch {
	case found != nil:
		return found, nil
	case firstErr != nil:
		return nil, firstErr
	}
	return nil, fmt.Errorf("%w: no gzip, zip or XML part", errNoReport)
}

// attachment returns the XML of a part that holds a report: ok is false
// for parts of other types.
func attachment(part *message.Entity) ([]byte, bool, error) {
	ct, params, _ := part.Header.ContentType()
	_, dparams, _ := part.Header.ContentDisposition()
	name := strings.ToLower(params["name"] + dparams["filename"])
	kind := ""
	switch {
	case ct == "application/gzip" || ct == "application/x-gzip" || strings.HasSuffix(name, ".gz"):
		kind = "gzip"
	case ct == "application/zip" || ct == "application/x-zip-compressed" || strings.HasSuffix(name, ".zip"):
		kind = "zip"
	case ct == "text/xml" || ct == "application/xml" || strings.HasSuffix(name, ".xml"):
		kind = "xml"
	default:
		return nil, false, nil
	}
	body, err := io.ReadAll(io.LimitReader(part.Body, MaxReportSize+1))
	if err != nil {
		return nil, true, fmt.Errorf("%w: %v", errNoReport, err)
	}
	doc, err := unpack(kind, body)
	return doc, true, err
}

func unpack(kind string, body []byte) ([]byte, error) {
	var r io.Reader
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", errNoReport, err)
		}
		r = zr
	case "zip":
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil || len(zr.File) == 0 {
			return nil, fmt.Errorf("%w: zip: %v", errNoReport, err)
		}
		f, err := zr.File[0].Open()
		if err != nil {
			return nil, fmt.Errorf("%w: zip: %v", errNoReport, err)
		}
		defer f.Close()
		r = f
	default:
		r = bytes.NewReader(body)
	}
	doc, err := io.ReadAll(io.LimitReader(r, MaxReportSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errNoReport, err)
	case len(doc) > MaxReportSize:
		return nil, fmt.Errorf("%w: report larger than %d bytes", errNoReport, MaxReportSize)
	}
	return doc, nil
}

// ParseXML parses an aggregate report document and checks that it names
// its reporter, its ID and its domain.
func ParseXML(doc []byte) (*Feedback, error) {
	var f Feedback
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.CharsetReader = func(label string, input io.Reader) (io.Reader, error) { return input, nil }
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoReport, err)
	}
	if f.XMLName.Local != "feedback" {
		return nil, fmt.Errorf("%w: root element <%s>", errNoReport, f.XMLName.Local)
	}
	f.normalize()
	if f.Metadata.OrgName == "" || f.Metadata.ReportID == "" || f.Policy.Domain == "" {
		return nil, fmt.Errorf("%w: no org_name, report_id or policy domain", errNoReport)
	}
	return &f, nil
}

// safeName keeps a report's names usable as a file name.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || strings.ContainsRune(`/\!:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 80 {
		s = s[:80]
	}
	if s == "" || s == "." || s == ".." {
		s = "_"
	}
	return s
}

// Reports returns the reports received whose period ends at or after
// since, oldest first.
func (s *Store) Reports(since time.Time) ([]Received, error) {
	dir := filepath.Join(s.dir, receivedDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	var out []Received
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrStore, err)
		}
		var r Received
		if err := json.Unmarshal(b, &r); err != nil {
			s.log.Warn("dmarc: unreadable received report", "file", e.Name(), "err", err)
			continue
		}
		if r.Feedback.Metadata.DateRange.End >= since.Unix() {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Feedback.Metadata.DateRange.Begin < out[j].Feedback.Metadata.DateRange.Begin
	})
	return out, nil
}

// IsNotReport reports whether err means the message held no report.
func IsNotReport(err error) bool { return errors.Is(err, errNoReport) }
