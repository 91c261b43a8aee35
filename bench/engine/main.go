// Command engine measures the dry-run engine over the SpamAssassin public
// corpus held in memory: messages per second on one core for parsing alone
// and for parsing plus the example inbound rules, with the DNS-bound stages
// (rdns, dnsbl, uribl, spf, dkim, dmarc) and bayes left out, as issue 2 asks.
//
//	go run ./bench/engine -corpus "$(bench/corpus.sh)"
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	_ "github.com/sluicemail/sluice/stages/all"
)

// excluded are the namespaces whose rules the benchmark drops: network
// checks, and bayes, which has its own benchmark.
var excluded = []string{"rdns", "dnsbl", "uribl", "spf", "dkim", "dmarc", "bayes"}

func main() {
	corpus := flag.String("corpus", "", "corpus data directory (bench/corpus.sh prints it)")
	rulesDir := flag.String("rules", "examples/rules", "rule directory")
	rounds := flag.Int("rounds", 3, "passes over the corpus per measurement (best is reported)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the dry-run passes to this file")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	msgs, err := loadCorpus(*corpus)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p, err := pipeline(*rulesDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var size int
	for _, m := range msgs {
		size += len(m)
	}
	fmt.Printf("corpus: %d messages, %.1f MB; rules: %d (DNS-bound and bayes rules left out)\n", len(msgs), float64(size)/1e6, len(p.Rules))
	fmt.Printf("GOMAXPROCS=1, CPU time, best of %d passes\n\n", *rounds)

	base := measure(*rounds, msgs, func(raw []byte) {
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err == nil {
			_ = m.Header.Get("Subject")
		}
	})
	header := measure(*rounds, msgs, func(raw []byte) {
		_ = engine.NewMessage(engine.Envelope{}, raw).Header().Get("Subject")
	})
	parse := measure(*rounds, msgs, func(raw []byte) {
		m := engine.NewMessage(engine.Envelope{}, raw)
		_ = m.Header().Get("Subject")
		_ = m.Body()
	})
	actions := map[string]int{}
	ctx := context.Background()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	full := measure(*rounds, msgs, func(raw []byte) {
		m := engine.NewMessage(engine.Envelope{}, raw)
		m.Envelope = rules.DeriveEnvelope(m)
		v := p.Begin(m).Evaluate(ctx, engine.PhaseData)
		actions[v.Action]++
	})
	report := func(name string, d time.Duration) {
		per := d / time.Duration(len(msgs))
		fmt.Printf("%-44s %8.0f msg/s/core  %6.1f µs/msg\n", name, float64(len(msgs))/d.Seconds(), float64(per.Nanoseconds())/1e3)
	}
	report("net/mail header parse (reference)", base)
	report("sluice header parse", header)
	report("sluice header + MIME body parse", parse)
	report(fmt.Sprintf("dry run: envelope + parse + %d rules", len(p.Rules)), full)
	rulesTime := full - parse
	fmt.Printf("\nparse %.1f µs/msg, rules and envelope %.1f µs/msg (%.0f%% of the dry run)\n",
		us(parse, len(msgs)), us(rulesTime, len(msgs)), 100*rulesTime.Seconds()/full.Seconds())
	fmt.Printf("verdicts over all passes: %v\n", actions)
}

func us(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) / 1e3 }

// measure runs fn over every message, rounds times, and returns the least
// CPU time (user + system, all threads, so garbage collection counts) of a
// pass. CPU time rather than wall time keeps the figure honest on a
// machine where other work competes for the cores.
func measure(rounds int, msgs [][]byte, fn func([]byte)) time.Duration {
	best := time.Duration(1<<63 - 1)
	for r := 0; r < rounds; r++ {
		runtime.GC()
		start := cpuTime()
		for _, m := range msgs {
			fn(m)
		}
		best = min(best, cpuTime()-start)
	}
	return best
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadCorpus(dir string) ([][]byte, error) {
	if dir == "" {
		return nil, fmt.Errorf("-corpus is required (run bench/corpus.sh)")
	}
	var msgs [][]byte
	for _, g := range []string{"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"} {
		files, err := filepath.Glob(filepath.Join(dir, g, "*.txt"))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("%s: no messages in group %s", dir, g)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, b)
		}
	}
	return msgs, nil
}

// pipeline loads the example inbound rules and keeps those that need no
// excluded stage.
func pipeline(dir string) (*engine.Pipeline, error) {
	set, err := rules.Load(dir, rules.Options{})
	if err != nil {
		return nil, err
	}
	src := set.Pipeline(rules.Inbound)
	p := &engine.Pipeline{Name: src.Name, Lists: src.Lists, Stages: map[string]engine.Stage{}}
	for _, r := range src.Rules {
		if !slices.ContainsFunc(r.Needs(), func(ns string) bool { return slices.Contains(excluded, ns) }) {
			p.Rules = append(p.Rules, r)
		}
	}
	return p, p.Prepare()
}
