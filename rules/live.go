package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Live is the running rule set of a server. Reload builds a new set
// completely (compile, then run its rule tests) and swaps it in atomically
// only if both succeed; otherwise the running set stays and the error is
// logged and counted. A message in flight keeps the pipeline it began with.
type Live struct {
	dir  string
	opts Options
	log  *slog.Logger

	cur      atomic.Pointer[Set]
	mu       sync.Mutex // serialises reloads
	failures atomic.Int64
	reloads  atomic.Int64
	lastErr  atomic.Pointer[string]
}

// NewLive loads dir; the first load must succeed (its tests too).
func NewLive(dir string, opts Options) (*Live, error) {
	l := &Live{dir: dir, opts: opts, log: slog.Default()}
	set, err := l.build()
	if err != nil {
		return nil, err
	}
	l.cur.Store(set)
	return l, nil
}

// SetLogger sets where reloads are logged (slog.Default otherwise).
func (l *Live) SetLogger(log *slog.Logger) { l.log = log }

// Current returns the running rule set.
func (l *Live) Current() *Set { return l.cur.Load() }

// Dir returns the rule directory.
func (l *Live) Dir() string { return l.dir }

// Failures returns how many reloads were refused since start.
func (l *Live) Failures() int64 { return l.failures.Load() }

// Reloads returns how many reloads took effect since start.
func (l *Live) Reloads() int64 { return l.reloads.Load() }

// LastError returns the error of the last refused reload, "" if the last
// reload succeeded.
func (l *Live) LastError() string {
	if p := l.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

// TestFailure is a reload refused because rule tests failed.
type TestFailure struct{ Results []TestResult }

func (e *TestFailure) Error() string {
	var parts []string
	for _, r := range e.Results {
		if !r.Passed() {
			parts = append(parts, fmt.Sprintf("%s:%d: test %q: %s", r.Case.File, r.Case.Line, r.Case.Name, strings.Join(r.Failures, "; ")))
		}
	}
	return "rule tests failed:\n" + strings.Join(parts, "\n")
}

func (l *Live) build() (*Set, error) {
	set, err := Load(l.dir, l.opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	results := set.RunTests(ctx)
	for _, r := range results {
		if !r.Passed() {
			return nil, &TestFailure{Results: results}
		}
	}
	return set, nil
}

// Reload compiles the directory, runs its tests and swaps the new set in.
// On error the running set is kept.
func (l *Live) Reload() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	set, err := l.build()
	if err != nil {
		l.failures.Add(1)
		msg := err.Error()
		l.lastErr.Store(&msg)
		l.log.Error("rules reload refused; the running rules stay", "dir", l.dir, "err", msg)
		return err
	}
	l.cur.Store(set)
	l.reloads.Add(1)
	empty := ""
	l.lastErr.Store(&empty)
	l.log.Info("rules reloaded", "dir", l.dir, "files", len(set.Files), "tests", len(set.Tests))
	return nil
}

// Watch reloads when a file of the rule directory (or a list or fixture it
// reads) changes, until ctx ends. Editors save by writing a temporary file
// and renaming it, so Watch watches directories and debounces bursts.
func (l *Live) Watch(ctx context.Context, debounce time.Duration) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	watched := map[string]bool{}
	addDirs := func() {
		dirs := []string{l.dir}
		for _, f := range l.Current().Watched {
			dirs = append(dirs, filepath.Dir(f))
		}
		for _, d := range dirs {
			if !watched[d] {
				if err := w.Add(d); err == nil {
					watched[d] = true
				}
			}
		}
	}
	addDirs()
	var timer *time.Timer
	fire := make(chan struct{}, 1)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watcher closed")
			}
			if ignored(ev.Name) {
				continue
			}
			if timer != nil {
				timer.Stop()
			}
			timer = time.AfterFunc(debounce, func() {
				select {
				case fire <- struct{}{}:
				default:
				}
			})
		case err := <-w.Errors:
			l.log.Warn("rule watcher", "err", err)
		case <-fire:
			if err := l.Reload(); err == nil {
				addDirs()
			}
		}
	}
}

// ignored skips editor droppings: swap files, backups, hidden temp files.
func ignored(name string) bool {
	base := filepath.Base(name)
	return strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") || strings.HasSuffix(base, ".swp") ||
		strings.HasSuffix(base, ".tmp") || base == "4913"
}
