// Command journal measures the verdict journal (issue 12): it builds a
// journal of N records the way the server does (the example rules run
// over the sample messages with the example zone file, every DNS answer
// recorded, the message text kept), then reports the bytes per record,
// how fast the journal is read back, and how fast `sluice replay`'s core
// re-evaluates it on one core with recorded DNS only.
//
//	go run ./bench/journal -n 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/server/replay"
	"github.com/sluicemail/sluice/stages/resolver"

	_ "github.com/sluicemail/sluice/stages/all"
)

func main() {
	n := flag.Int("n", 100000, "records")
	rulesDir := flag.String("rules", "examples/rules", "rule directory (live and replay)")
	zoneFile := flag.String("dns", "examples/rules/testdata/zone.txt", "zone file the original run resolves from")
	msgDir := flag.String("messages", "examples/messages", "sample messages")
	dir := flag.String("dir", "", "journal directory (default: a temporary one, removed after)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the replay to this file")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	if err := run(*n, *rulesDir, *zoneFile, *msgDir, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "journal bench:", err)
		os.Exit(1)
	}
}

var cpuProfile string

func run(n int, rulesDir, zoneFile, msgDir, dir string) error {
	zone, err := resolver.LoadZoneFile(zoneFile)
	if err != nil {
		return err
	}
	set, err := rules.Load(rulesDir, rules.Options{DNS: zone})
	if err != nil {
		return err
	}
	msgs, err := loadMessages(msgDir)
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sluice-journal-bench"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	j, err := journal.Open(dir, journal.Options{MaxTotal: -1, MaxAge: -1})
	if err != nil {
		return err
	}
	start, c0 := time.Now(), cpu()
	for i := 0; i < n; i++ {
		rec, raw := decide(set.Pipeline(rules.Inbound), zone, msgs[i%len(msgs)], i)
		if err := j.Append(rec, raw); err != nil {
			return err
		}
	}
	if err := j.Close(); err != nil {
		return err
	}
	gen, genCPU := time.Since(start), cpu()-c0
	recBytes, bodyBytes := sizes(dir)
	fmt.Printf("%d records written in %s, %s CPU (%.0f records per CPU-second, evaluation included)\n", n, gen.Round(time.Millisecond), genCPU.Round(time.Millisecond), float64(n)/genCPU.Seconds())
	fmt.Printf("journal: %.0f bytes per record, plus %.0f bytes per record of message copies\n", float64(recBytes)/float64(n), float64(bodyBytes)/float64(n))

	start, c0 = time.Now(), cpu()
	recs, err := journal.Find(dir, journal.Query{}, nil)
	if err != nil {
		return err
	}
	scan, scanCPU := time.Since(start), cpu()-c0
	fmt.Printf("read back: %d records in %s, %s CPU (%.0f records per CPU-second)\n", len(recs), scan.Round(time.Millisecond), scanCPU.Round(time.Millisecond), float64(len(recs))/scanCPU.Seconds())

	start, c0 = time.Now(), cpu()
	changed := 0
	bodies := journal.NewBodies(dir)
	defer bodies.Close()
	opts := replay.Options{Dir: dir, Bodies: bodies, Pipeline: set.Pipeline, Unrecorded: resolver.UnrecordedTemperror}
	var unrec int
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for _, rec := range recs {
		out, err := replay.Record(context.Background(), rec, opts)
		if err != nil {
			return err
		}
		if out.Verdict.Action != rec.Action {
			changed++
		}
		unrec += len(out.Unrecorded)
	}
	rep, repCPU := time.Since(start), cpu()-c0
	total := scanCPU + repCPU
	fmt.Printf("replay (GOMAXPROCS=1): %d records in %s, %s CPU: %.0f records per CPU-second; %.0f with the read included; %d changed, %d unrecorded questions\n",
		len(recs), rep.Round(time.Millisecond), repCPU.Round(time.Millisecond), float64(len(recs))/repCPU.Seconds(), float64(len(recs))/total.Seconds(), changed, unrec)
	return nil
}

// decide runs one message through the live rules as the SMTP session
// does and builds its journal record.
func decide(p *engine.Pipeline, zone engine.Resolver, raw []byte, i int) (*journal.Record, []byte) {
	ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 250)})
	if i%7 == 0 {
		ip = netip.MustParseAddr("203.0.113.66") // listed
	}
	env := engine.Envelope{IP: ip, HELO: "mail.example.net", Listener: "smtp", Port: 25,
		MailFrom: "sender@example.net", Rcpt: []string{"alice@example.org"}}
	rec := resolver.NewRecorder(zone)
	m := engine.NewMessage(env, nil)
	tx := p.Begin(m, engine.WithResolver(rec))
	ctx := context.Background()
	var v engine.Verdict
	for _, ph := range []engine.Phase{engine.PhaseHelo, engine.PhaseMail, engine.PhaseRcpt} {
		if v = tx.Evaluate(ctx, ph); v.Decided && v.Final() {
			break
		}
	}
	var body []byte
	if !(v.Decided && v.Final()) {
		m.SetRaw(raw)
		v = tx.Evaluate(ctx, engine.PhaseData)
		body = raw
	}
	r := &journal.Record{Direction: journal.In, Pipeline: p.Name, Session: fmt.Sprintf("S%011d", i),
		Conn:     journal.Conn{IP: ip.String(), HELO: env.HELO, Listener: env.Listener, Port: env.Port},
		Envelope: journal.Envelope{From: env.MailFrom, Rcpt: env.Rcpt},
		Phase:    v.Phase.String(), Action: v.Action, Code: v.Code, Enhanced: v.Enhanced, Text: v.Text, Score: v.Score,
		Rules: journal.RulesOf(p, v.Fired), RuleSet: p.Version, DNS: rec.Exchanges()}
	ns := append([]string{"conn", "auth", "envelope"}, v.Stages...)
	if body != nil {
		ns = append(ns, "msg")
		h := m.Header()
		r.MessageID, r.Subject = strings.Trim(h.Get("Message-Id"), "<>"), h.Get("Subject")
		r.Stored = &journal.Stored{Queue: fmt.Sprintf("Q%d", i), Size: len(body)}
	}
	r.Facts = journal.FactsJSON(engine.FactsMap(tx.Facts(), ns))
	for _, s := range tx.StageRuns() {
		c := journal.Check{Stage: s.Name, Duration: float64(s.Took.Microseconds()) / 1000}
		if s.Err != nil {
			c.Error = s.Err.Error()
		}
		r.Checks = append(r.Checks, c)
	}
	return r, body
}

// cpu is the process's user+system CPU time so far: on a shared machine
// the rates are per CPU-second, which is what "per core" means here.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadMessages(dir string) ([][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no messages in %s", dir)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func sizes(dir string) (records, bodies int64) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if strings.HasSuffix(e.Name(), ".body") {
			bodies += fi.Size()
		} else {
			records += fi.Size()
		}
	}
	return records, bodies
}
