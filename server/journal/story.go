package journal

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Story prints one record for a human: who connected, what each check
// found and from which DNS answers, which rules fired and why, what sluice
// did, and what the shadow rules would have done when they disagreed.
// `sluice explain` and the web console's explanation page both print it.
func Story(w io.Writer, r *Record) {
	fmt.Fprintf(w, "Message %s (session %s), %s, %s\n", r.ID, r.Session, r.Time.Local().Format("2006-01-02 15:04:05 MST"), direction(r.Direction))
	if r.MessageID != "" || r.Subject != "" {
		fmt.Fprintf(w, "  Message-ID: <%s>  Subject: %s\n", r.MessageID, r.Subject)
	}
	if r.From != "" {
		fmt.Fprintf(w, "  From: %s\n", r.From)
	}
	tls := "plain text"
	if r.Conn.TLS != "" {
		tls = r.Conn.TLS
	}
	fmt.Fprintf(w, "\nConnection: %s, HELO %s, %s, listener %s port %d", r.Conn.IP, r.Conn.HELO, tls, r.Conn.Listener, r.Conn.Port)
	if r.Conn.User != "" {
		fmt.Fprintf(w, ", authenticated as %s", r.Conn.User)
	}
	fmt.Fprintf(w, "\nEnvelope:   MAIL FROM <%s>", r.Envelope.From)
	if len(r.Envelope.Rcpt) > 0 {
		fmt.Fprintf(w, ", RCPT TO <%s>", strings.Join(r.Envelope.Rcpt, ">, <"))
	}
	if r.Envelope.Refused != "" {
		fmt.Fprintf(w, ", refused RCPT TO <%s>", r.Envelope.Refused)
	}
	fmt.Fprintln(w)
	storyChecks(w, r)
	storyRules(w, r)
	fmt.Fprintf(w, "\nVerdict: %s, decided at %s", r.Action, r.Phase)
	if r.Code != 0 {
		fmt.Fprintf(w, ", replied %d %s %s", r.Code, r.Enhanced, r.Text)
	}
	if r.Redirect != "" {
		fmt.Fprintf(w, ", redirected to %s", r.Redirect)
	}
	fmt.Fprintf(w, " (score %g, rule set %s)\n", r.Score, orDash(r.RuleSet))
	if r.Learn != "" {
		fmt.Fprintf(w, "Learn: a rule asked the Bayes model to learn it as %s (within the autolearner's per-sender cap)\n", r.Learn)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  rule error: %s\n", r.Error)
	}
	storyStored(w, r)
	if facts := r.FactsMap(); len(facts) > 0 {
		names := make([]string, 0, len(facts))
		for k := range facts {
			names = append(names, k)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "Facts recorded: %s (see --json)\n", strings.Join(names, ", "))
	}
	if r.Shadow != nil {
		fmt.Fprintf(w, "\nShadow rules (%s) would have said: %s by %s\n", orDash(r.Shadow.RuleSet), r.Shadow.Action, RuleNames(r.Shadow.Rules))
	}
}

func direction(d string) string {
	if d == Out {
		return "outbound (submission)"
	}
	return "inbound"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// storyChecks prints each check with its result, its time and the DNS
// answers of the transaction.
func storyChecks(w io.Writer, r *Record) {
	facts := r.FactsMap()
	if len(r.Checks) > 0 {
		fmt.Fprintln(w, "\nChecks:")
		for _, c := range r.Checks {
			line := fmt.Sprintf("  %-8s %-10s %7.1f ms", c.Stage, resultOf(facts, c.Stage), c.Duration)
			if c.Error != "" {
				line += "  error: " + c.Error
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(r.DNS) > 0 {
		fmt.Fprintln(w, "\nDNS answers used:")
		for _, x := range r.DNS {
			fmt.Fprintf(w, "  %s %s: %s", x.Name, x.Type, x.Rcode)
			if len(x.Records) > 0 {
				fmt.Fprintf(w, " %s", strings.Join(rdata(x.Records), ", "))
			}
			if x.TTL > 0 {
				fmt.Fprintf(w, " (ttl %d)", x.TTL)
			}
			if x.Error != "" {
				fmt.Fprintf(w, " (%s)", x.Error)
			}
			fmt.Fprintln(w)
		}
	}
}

// rdata keeps the data part of master-file records ("127.0.0.2" of
// "x. 300 IN A 127.0.0.2").
func rdata(rrs []string) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		f := strings.Fields(rr)
		if len(f) > 4 {
			out[i] = strings.Join(f[4:], " ")
		} else {
			out[i] = rr
		}
	}
	return out
}

// resultOf is a check's one-word result as its facts hold it.
func resultOf(facts map[string]any, stage string) string {
	ns, _ := facts[stage].(map[string]any)
	for _, k := range []string{"result", "chain"} {
		if s, ok := ns[k].(string); ok && s != "" {
			return s
		}
	}
	if p, ok := ns["spam"].(float64); ok {
		return fmt.Sprintf("spam %.2f", p)
	}
	return "-"
}

// storyRules prints each rule that fired, where it is written, its
// condition and the values of the facts it read.
func storyRules(w io.Writer, r *Record) {
	if len(r.Rules) == 0 {
		fmt.Fprintln(w, "\nNo rule fired.")
		return
	}
	fmt.Fprintln(w, "\nRules that fired, in order:")
	facts := r.FactsMap()
	for _, ru := range r.Rules {
		where := ru.File
		if ru.Line > 0 {
			where = fmt.Sprintf("%s:%d", ru.File, ru.Line)
		}
		act := ru.Action
		if act == "" {
			act = "no action"
		}
		fmt.Fprintf(w, "  %s (%s): score %g, %s\n", ru.Name, where, ru.Score, act)
		if ru.When != "" {
			fmt.Fprintf(w, "      when: %s\n", ru.When)
		}
		if len(ru.Reads) > 0 {
			var vals []string
			for _, f := range ru.Reads {
				vals = append(vals, f+" = "+factValue(facts, f))
			}
			fmt.Fprintf(w, "      because: %s\n", strings.Join(vals, "; "))
		}
	}
}

// factValue looks a dotted fact name up in the recorded facts.
func factValue(facts map[string]any, name string) string {
	var cur any = facts
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "(not recorded)"
		}
		if cur, ok = m[part]; !ok {
			return "(not recorded)"
		}
	}
	b, _ := json.Marshal(cur)
	if s := string(b); len(s) <= 160 {
		return s
	}
	return string(b[:160]) + "…"
}

func storyStored(w io.Writer, r *Record) {
	st := r.Stored
	if st == nil {
		fmt.Fprintln(w, "\nNo message text: refused before DATA.")
		return
	}
	fmt.Fprintf(w, "\nMessage: %d bytes, sha256 %s", st.Size, st.SHA256)
	if st.Queue != "" {
		fmt.Fprintf(w, ", queued as %s", st.Queue)
	}
	if st.Body != nil {
		fmt.Fprintf(w, ", copy kept in the journal (%s)", st.Body.File)
	} else {
		fmt.Fprint(w, ", header kept, body not")
	}
	fmt.Fprintln(w)
	if r.Received != "" {
		fmt.Fprintf(w, "Our trace field: %s\n", strings.ReplaceAll(r.Received, "\r\n", "\n    "))
	}
}

// RuleNames lists the names of rules that fired, for one line of text.
func RuleNames(rs []Rule) string {
	if len(rs) == 0 {
		return "(no rule fired)"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}
