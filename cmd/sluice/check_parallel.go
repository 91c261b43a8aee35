package main

import (
	"context"
	"sync"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/engine/source"
)

// checked is one walked item with its outcome, numbered in walk order.
type checked struct {
	seq  int
	item source.Item // Raw dropped once evaluated: only Path and Err are reported
	res  result
}

// evaluateAll walks paths and evaluates the messages on c.o.jobs workers,
// calling emit for each in walk order, from one goroutine, so the report
// reads the same whatever the number of workers. Messages wait on DNS
// more than on CPU, so several run at once even on one core. At most a
// bounded number of items are in flight (read, evaluating, or finished but
// waiting for an earlier one), so a slow message does not make the walk
// read a whole mailbox into memory.
func (c *checker) evaluateAll(ctx context.Context, paths []string, emit func(checked)) error {
	workers := max(c.o.jobs, 1)
	slots := make(chan struct{}, 16*workers)
	todo := make(chan checked)
	done := make(chan checked)

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := range todo {
				if x.item.Err == nil {
					m := engine.NewMessage(engine.Envelope{}, x.item.Raw)
					env, sources := c.envelope(m)
					m.Envelope = env
					x.res = c.evaluate(ctx, m)
					if c.o.facts {
						x.res.derived = sources
					}
					x.item.Raw = nil
				}
				done <- x
			}
		}()
	}
	walked := make(chan error, 1)
	go func() {
		seq := 0
		err := source.Walk(paths, func(it source.Item) error {
			slots <- struct{}{}
			todo <- checked{seq: seq, item: it}
			seq++
			return nil
		})
		close(todo)
		wg.Wait()
		close(done)
		walked <- err
	}()

	waiting := map[int]checked{}
	next := 0
	for x := range done {
		waiting[x.seq] = x
		for {
			y, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			emit(y)
			<-slots
			next++
		}
	}
	return <-walked
}
