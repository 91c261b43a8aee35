package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicemail/sluice/engine/source"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/stages/bayes"
)

func init() {
	register(&command{name: "train", summary: "train the Bayes model on spam and ham (files, Maildirs, mbox)", run: runTrain})
}

// trainBatch is how many messages `sluice train` sends to Redis per
// script run (bench/bayesredis BenchmarkLearnRedis).
const trainBatch = 32

// trainCounts is the summary of one class.
type trainCounts struct {
	learnt, duplicate, unreadable int
}

func runTrain(args []string) int { return runTrainTo(args, os.Stdout, os.Stderr) }

// runTrainTo is runTrain with its output streams given, for tests.
func runTrainTo(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("train", "[--config FILE] [--model PATH] --spam PATH... --ham PATH... [--unlearn] | --model PATH --stats",
		"Teach the Bayes model spam and ham from files, Maildirs or mbox files; learning a message twice counts once.\n"+
			"With --config, the model is the server's (DATA/bayes.model), its counts on state.redis when that is set.")
	var spam, ham multiFlag
	model := fs.String("model", "", "the model file (default: DATA/bayes.model with --config, else sluice-data/bayes.model)")
	confPath := fs.String("config", "", "the server's config: its data directory, and its Redis for the shared counts")
	fs.Var(&spam, "spam", "spam to learn: files, Maildirs or mbox files (repeatable; several paths may follow)")
	fs.Var(&ham, "ham", "ham to learn: files, Maildirs or mbox files (repeatable; several paths may follow)")
	unlearn := fs.Bool("unlearn", false, "forget the messages given with --spam and --ham instead of learning them")
	stats := fs.Bool("stats", false, "print what the model has learnt and exit")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(expandLists(args, "spam", "ham")); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice train: unexpected argument %q (give paths after --spam or --ham)\n", fs.Arg(0))
		return 2
	}
	closeShared, err := trainConfig(*confPath, model)
	if err != nil {
		fmt.Fprintln(stderr, "sluice train:", err)
		return 1
	}
	defer closeShared()
	m, err := bayes.OpenModel(*model)
	if err != nil {
		fmt.Fprintln(stderr, "sluice train:", err)
		return 1
	}
	if *stats {
		return printStats(stdout, stderr, *model, m)
	}
	if len(spam) == 0 && len(ham) == 0 {
		fmt.Fprintln(stderr, "sluice train: nothing to do: give --spam or --ham paths, or --stats")
		return 2
	}
	if rs, ok := m.Store().(*bayes.RedisStore); ok {
		// Shared counts: many messages per round trip and per token
		// update, each answered as one by one (bayes.RedisBatch).
		m = bayes.NewModel(rs.Batched(trainBatch))
	}
	nspam, nham := source.Count(spam), source.Count(ham)
	bar := newProgress("training", nspam+nham, !*quiet)
	sc, hc, err := trainInterleaved(m, spam, ham, nspam, nham, *unlearn, bar, stderr)
	bar.finish()
	if err != nil {
		fmt.Fprintln(stderr, "sluice train:", err)
		return 1
	}
	if err := m.Save(); err != nil {
		fmt.Fprintln(stderr, "sluice train:", err)
		return 1
	}
	verb, dup := "learnt", "skipped as duplicates"
	if *unlearn {
		verb, dup = "unlearnt", "skipped as never learnt"
	}
	for _, c := range []struct {
		name string
		n    trainCounts
		some bool
	}{{"spam:", sc, len(spam) > 0}, {"ham:", hc, len(ham) > 0}} {
		if c.some {
			fmt.Fprintf(stdout, "%-5s %d %s, %d %s, %d unreadable\n", c.name, c.n.learnt, verb, c.n.duplicate, dup, c.n.unreadable)
		}
	}
	return printStats(stdout, stderr, *model, m)
}

// trainConfig applies --config: the model defaults to the data
// directory's, and with state.redis its counts are the shared ones, as
// `sluice serve` reads them. The returned func closes the connection.
func trainConfig(path string, model *string) (func(), error) {
	if path == "" {
		if *model == "" {
			*model = "sluice-data/bayes.model"
		}
		return func() {}, nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if *model == "" {
		*model = filepath.Join(cfg.Data, bayes.DefaultModelFile)
	}
	if cfg.State.Redis == nil {
		return func() {}, nil
	}
	rs, err := openRedis(cfg.State.Redis)
	if err != nil {
		return nil, err
	}
	if err := bayes.ShareCounts(cfg.Data, rs.Client(), cfg.State.Redis.Timeout.D()); err != nil {
		rs.Close()
		return nil, err
	}
	return func() { bayes.StopSharing(cfg.Data); rs.Close() }, nil
}

// trainInterleaved learns (or unlearns) the spam and the ham interleaved
// in proportion to their counts, as mail arrives, rather than all of one
// class and then all of the other: the model's logistic regression learns
// online, and a long run of one class would tilt every feature common to
// all mail towards it (trained so, it flagged a tenth of easy ham on the
// static split of bench/bayes).
func trainInterleaved(m *bayes.Model, spam, ham []string, nspam, nham int, unlearn bool, bar *progress, stderr io.Writer) (sc, hc trainCounts, err error) {
	done := make(chan struct{})
	defer close(done)
	spamc, spamErr := walkInto(spam, done)
	hamc, hamErr := walkInto(ham, done)
	var seenSpam, seenHam int
	for spamc != nil || hamc != nil {
		// The class further behind its share goes next.
		takeSpam := hamc == nil || spamc != nil && seenSpam*max(nham, 1) <= seenHam*max(nspam, 1)
		var it source.Item
		var ok bool
		class, n := bayes.Ham, &hc
		if takeSpam {
			class, n = bayes.Spam, &sc
			if it, ok = <-spamc; !ok {
				spamc = nil
				continue
			}
			seenSpam++
		} else if it, ok = <-hamc; !ok {
			hamc = nil
			continue
		} else {
			seenHam++
		}
		if err := trainOne(m, it, class, unlearn, n, stderr); err != nil {
			return sc, hc, err
		}
		bar.add(1)
	}
	if err := <-spamErr; err != nil {
		return sc, hc, err
	}
	return sc, hc, <-hamErr
}

// walkInto walks paths in a goroutine, sending each item, until done is
// closed; the walk's error arrives on the second channel.
func walkInto(paths []string, done <-chan struct{}) (<-chan source.Item, <-chan error) {
	items, errc := make(chan source.Item, 16), make(chan error, 1)
	go func() {
		defer close(items)
		errc <- source.Walk(paths, func(it source.Item) error {
			select {
			case items <- it:
				return nil
			case <-done:
				return errStopped
			}
		})
	}()
	return items, errc
}

var errStopped = fmt.Errorf("stopped")

// trainOne learns (or unlearns) one message as class.
func trainOne(m *bayes.Model, it source.Item, class bayes.Class, unlearn bool, n *trainCounts, stderr io.Writer) error {
	if it.Err != nil {
		n.unreadable++
		fmt.Fprintf(stderr, "\rsluice train: %s: %v\n", it.Path, it.Err)
		return nil
	}
	var changed bool
	var err error
	if unlearn {
		changed, err = m.Unlearn(it.Raw)
	} else {
		changed, err = m.Learn(it.Raw, class)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", it.Path, err)
	}
	if changed {
		n.learnt++
	} else {
		n.duplicate++
	}
	return nil
}

func printStats(w, stderr io.Writer, path string, m *bayes.Model) int {
	st, err := m.Stats()
	if err != nil {
		fmt.Fprintln(stderr, "sluice train:", err)
		return 1
	}
	fmt.Fprintf(w, "model %s (tokenizer version %d)\n", path, st.Tokenizer)
	switch m.Store().(type) {
	case *bayes.RedisStore, *bayes.RedisBatch:
		fmt.Fprintln(w, "  counts: on Redis (state.redis), shared by every node")
	}
	fmt.Fprintf(w, "  spam: %d messages, %d tokens\n", st.Spam, st.SpamTokens)
	fmt.Fprintf(w, "  ham:  %d messages, %d tokens\n", st.Ham, st.HamTokens)
	if st.Tokenizer != bayes.TokenizerVersion {
		fmt.Fprintf(w, "  note: trained with tokenizer version %d, this sluice has %d; retrain for the best results\n",
			st.Tokenizer, bayes.TokenizerVersion)
	}
	return 0
}

// expandLists turns "--spam a b --ham c" into "--spam a --spam b --ham c",
// so that a shell glob can follow a list flag.
func expandLists(args []string, names ...string) []string {
	var out []string
	cur := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(a, "-") {
			cur = ""
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			for _, n := range names {
				switch {
				case name == n && hasValue:
					cur = n
					out = append(out, a)
				case name == n && i+1 < len(args):
					cur = n
					out = append(out, a, args[i+1])
					i++
				}
			}
			if cur == "" {
				out = append(out, a)
			}
			continue
		}
		if cur != "" {
			out = append(out, "--"+cur, a)
			continue
		}
		out = append(out, a)
	}
	return out
}
