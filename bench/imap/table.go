package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// synthesize makes n messages of about 5 KB with varied senders, subjects
// and dates, for a run without the corpus (and the APPEND row).
func synthesize(n int) [][]byte {
	names := []string{"john", "mary", "alice", "bob", "carol"}
	topics := []string{"mortgage rates", "meeting notes", "invoice", "holiday photos", "build failure"}
	line := strings.Repeat("lorem ipsum dolor sit amet consectetur ", 2) + "\r\n"
	body := strings.Repeat(line, 5000/len(line))
	msgs := make([][]byte, n)
	for i := range msgs {
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: %s <%s%d@example.com>\r\n", strings.ToUpper(names[i%5][:1])+names[i%5][1:], names[i%5], i%97)
		fmt.Fprintf(&b, "To: bench@example.org\r\nSubject: %s #%d\r\n", topics[(i/5)%5], i)
		fmt.Fprintf(&b, "Date: %s\r\n", time.Date(2002, 8, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((i*7919)%n)*time.Minute).Format(time.RFC1123Z))
		fmt.Fprintf(&b, "Message-ID: <%d.bench@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n%s", i, body)
		msgs[i] = b.Bytes()
	}
	return msgs
}

// writeMbox writes msgs as an mbox for imaptest's APPENDs.
func writeMbox(path string, msgs [][]byte) error {
	var b bytes.Buffer
	for _, m := range msgs {
		b.WriteString("From bench@example.org Thu Aug  1 00:00:00 2002\n")
		b.Write(bytes.ReplaceAll(m, []byte("\nFrom "), []byte("\n>From ")))
		if !bytes.HasSuffix(m, []byte("\n")) {
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// printTable prints one row per step, a column per server and, with
// Dovecot, the ratio sluice/Dovecot (above 1: sluice is slower; for the
// stress rate, below 1: sluice did less).
func printTable(w io.Writer, servers []*server, res []result, n, size, appends, stressSecs int) {
	fmt.Fprintf(w, "%d messages, %.1f MB; medians of the warm steps\n\n", n, float64(size)/1e6)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	head := "step\t"
	for _, s := range servers {
		head += s.name + "\t"
	}
	if len(servers) == 2 {
		head += "sluice/Dovecot\t"
	}
	fmt.Fprintln(tw, head)
	line := func(name string, cells []string, ds []time.Duration, invert bool) {
		l := name + "\t" + strings.Join(cells, "\t") + "\t"
		if len(ds) == 2 {
			if ds[1] > 0 && ds[0] > 0 {
				l += fmt.Sprintf("%.2f\t", float64(ds[0])/float64(ds[1]))
			} else {
				l += "-\t"
			}
		}
		fmt.Fprintln(tw, l)
	}
	dur := func(get func(r result) (time.Duration, string, error)) ([]string, []time.Duration) {
		var cells []string
		var ds []time.Duration
		for _, r := range res {
			d, note, err := get(r)
			switch {
			case err != nil:
				cells = append(cells, "error: "+shorten(err.Error()))
				ds = append(ds, 0)
			case note != "":
				cells = append(cells, fmt.Sprintf("%v (%s)", d, note))
				ds = append(ds, d)
			default:
				cells = append(cells, d.String())
				ds = append(ds, d)
			}
		}
		return cells, ds
	}
	c, d := dur(func(r result) (time.Duration, string, error) { return r.first.Round(time.Millisecond), "", nil })
	line("cold open, first (indexes the Maildir)", c, d, false)
	c, d = dur(func(r result) (time.Duration, string, error) {
		return r.restarted.Round(100 * time.Microsecond), "", nil
	})
	line("cold open after restart (index on disk)", c, d, false)
	for i := range res[0].warm {
		c, d = dur(func(r result) (time.Duration, string, error) { return r.warm[i].d, r.warm[i].note, r.warm[i].err })
		line(res[0].warm[i].name, c, d, false)
	}
	c, d = dur(func(r result) (time.Duration, string, error) {
		return r.appendD.Round(time.Millisecond), "", r.appendErr
	})
	nagle := "on"
	if !appendNagle {
		nagle = "off"
	}
	line(fmt.Sprintf("APPEND %d x 5 KB, Nagle %s", appends, nagle), c, d, false)
	if stressSecs > 0 {
		var cells []string
		var ds []time.Duration
		for _, r := range res {
			if r.stress.err != nil {
				cells = append(cells, "error: "+shorten(r.stress.err.Error()))
				ds = append(ds, 0)
				continue
			}
			rate := float64(r.stress.total()) / float64(stressSecs)
			cells = append(cells, fmt.Sprintf("%.0f cmds/s, %d errors", rate, r.stress.errs))
			ds = append(ds, time.Duration(rate*1000))
		}
		line(fmt.Sprintf("imaptest stress, 10 clients, %d s", stressSecs), cells, ds, true)
	}
	tw.Flush()
	for i, s := range servers {
		if s.clock == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s server time of the warm steps (its read of the command to its last write), medians:\n", s.name)
		for _, r := range res[i].warm {
			fmt.Fprintf(w, "  %-40s %v\n", r.name, r.srv.Round(10*time.Microsecond))
		}
	}
	if stressSecs > 0 {
		for i, s := range servers {
			fmt.Fprintf(w, "\nimaptest totals, %s:\n", s.name)
			for j, col := range res[i].stress.cols {
				if j < len(res[i].stress.counts) {
					fmt.Fprintf(w, "  %s %d", col, res[i].stress.counts[j])
				}
			}
			fmt.Fprintln(w)
		}
	}
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
