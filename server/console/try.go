package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/verdicts"
	"github.com/sluicemail/sluice/stages/resolver"
)

// maxTryBytes bounds a pasted or uploaded message.
const maxTryBytes = 10 << 20

// tryInput is the form of "try a message".
type tryInput struct {
	Message  string
	IP       string
	HELO     string
	From     string
	To       string
	Pipeline string
	Zone     string // RFC 1035 zone text; empty: the server's live DNS
	Shadow   bool   // the shadow rule set rather than the live one
}

type tryData struct {
	HasShadow bool // a shadow rule set is configured
	In        tryInput
	Error     string
	Result    *verdicts.Verdict
}

func (c *Console) tryForm(w http.ResponseWriter, r *http.Request, sess *session) {
	c.render(w, sess, "try", "Try a message", tryData{HasShadow: c.opts.ShadowPipeline != nil,
		In: tryInput{IP: "192.0.2.1", HELO: "mail.example.com", Pipeline: "inbound"}})
}

// readTry reads the form, the message from the upload if one was sent.
func readTry(r *http.Request) (tryInput, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxTryBytes+1<<20)
	in := tryInput{Message: r.FormValue("message"), IP: strings.TrimSpace(r.FormValue("ip")), HELO: strings.TrimSpace(r.FormValue("helo")),
		From: strings.TrimSpace(r.FormValue("from")), To: strings.TrimSpace(r.FormValue("to")),
		Pipeline: r.FormValue("pipeline"), Zone: r.FormValue("zone"), Shadow: r.FormValue("rules") == "shadow"}
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxTryBytes+1))
		if err != nil {
			return in, err
		}
		if len(b) > 0 {
			in.Message = string(b)
		}
	}
	if len(in.Message) > maxTryBytes {
		return in, fmt.Errorf("the message is larger than %d MB", maxTryBytes>>20)
	}
	if strings.TrimSpace(in.Message) == "" {
		return in, fmt.Errorf("paste a message or choose a file")
	}
	if in.Pipeline != "outbound" {
		in.Pipeline = "inbound"
	}
	return in, nil
}

func (c *Console) try(w http.ResponseWriter, r *http.Request, sess *session) {
	in, err := readTry(r)
	var res *verdicts.Verdict
	if err == nil {
		res, err = c.evaluate(r.Context(), in)
	}
	d := tryData{HasShadow: c.opts.ShadowPipeline != nil, In: in, Result: res}
	if err != nil {
		d.Error = err.Error()
	}
	if wantsJSON(r) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		writeJSON(w, res)
		return
	}
	c.render(w, sess, "try", "Try a message", d)
}

// evaluate runs the message through the live rules (or the shadow set),
// as DATA would, with the live DNS or the given zone.
func (c *Console) evaluate(ctx context.Context, in tryInput) (*verdicts.Verdict, error) {
	pipeline, set := c.opts.Pipeline, "live"
	if in.Shadow {
		if c.opts.ShadowPipeline == nil {
			return nil, fmt.Errorf("no shadow rule set is configured (shadow_rules)")
		}
		pipeline, set = c.opts.ShadowPipeline, "shadow"
	}
	p := pipeline(in.Pipeline)
	if p == nil {
		return nil, fmt.Errorf("no %s %s rules are loaded", set, in.Pipeline)
	}
	env := engine.Envelope{HELO: in.HELO, MailFrom: in.From, Listener: "smtp", Port: 25}
	if in.Pipeline == "outbound" {
		env.Listener, env.Port = "submission", 587
	}
	if in.IP != "" {
		ip, err := netip.ParseAddr(in.IP)
		if err != nil {
			return nil, fmt.Errorf("client IP: %w", err)
		}
		env.IP = ip
	}
	for _, to := range strings.FieldsFunc(in.To, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		env.Rcpt = append(env.Rcpt, to)
	}
	raw := strings.ReplaceAll(strings.ReplaceAll(in.Message, "\r\n", "\n"), "\n", "\r\n")
	m := engine.NewMessage(env, []byte(raw))
	var opts []engine.TxOption
	switch {
	case strings.TrimSpace(in.Zone) != "":
		z, err := resolver.ParseZone(in.Zone)
		if err != nil {
			return nil, fmt.Errorf("zone: %w", err)
		}
		opts = append(opts, engine.WithResolver(z))
	case c.opts.DNS != nil:
		opts = append(opts, engine.WithResolver(c.opts.DNS))
	}
	// A try is a look, as a rule test is: it counts against no rate limit
	// and leaves no greylist entry in the server's state (and, without
	// engine.WithLearning, teaches the Bayes model nothing).
	opts = append(opts, engine.WithState(engine.NewMemoryState()))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tx := p.Begin(m, opts...)
	v := tx.Evaluate(ctx, engine.PhaseData)
	h := m.Header()
	res := &verdicts.Verdict{Time: time.Now(), Listener: env.Listener, Pipeline: in.Pipeline, Phase: v.Phase.String(),
		IP: in.IP, HELO: in.HELO, MailFrom: in.From, Rcpt: env.Rcpt, From: h.Get("From"), Subject: h.Get("Subject"),
		Action: v.Action, Reply: v.Reply(), Score: v.Score, Stages: v.Stages,
		Facts: engine.FactsMap(tx.Facts(), append([]string{"conn", "auth", "envelope", "msg", "dns"}, v.Stages...))}
	if v.Err != nil {
		res.Err = v.Err.Error()
	}
	for _, f := range v.Fired {
		res.Rules = append(res.Rules, verdicts.Rule{Name: f.Name, Score: f.Score, Action: f.Action})
	}
	return res, nil
}
