package console

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/health"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/verdicts"
)

func newTicker() *time.Ticker { return time.NewTicker(15 * time.Second) }

// overviewData is the front page: the last hour from the recent verdicts,
// the queue and the health of each dependency.
type overviewData struct {
	Health   health.Report
	Readings [][2]string
	Queue    queue.Stats
	Held     int
	In, Out  int // messages in the last hour
	Actions  []count
	TopRules []count
	Chart    chart
}

type count struct {
	Name string
	N    int
}

// chart is a per-minute line chart of the last hour, drawn as inline SVG
// (no script, no library): points are precomputed here.
type chart struct {
	W, H    int
	In, Out string // "x,y x,y ..." polyline points
	Max     int
}

func sortedCounts(m map[string]int, limit int) []count {
	out := make([]count, 0, len(m))
	for k, n := range m {
		out = append(out, count{k, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].N > out[j].N || (out[i].N == out[j].N && out[i].Name < out[j].Name) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (c *Console) overviewOf(now time.Time) overviewData {
	var d overviewData
	if c.opts.Ready != nil {
		d.Health = c.opts.Ready()
	}
	if c.opts.Readings != nil {
		d.Readings = c.opts.Readings()
	}
	if c.opts.Queue != nil {
		d.Queue = c.opts.Queue.Stats()
		held, _ := queue.ListQuarantine(c.opts.Queue.QuarantineDir())
		d.Held = len(held)
	}
	var in, out [60]int
	acts, rules := map[string]int{}, map[string]int{}
	for _, v := range c.opts.Verdicts.List(verdicts.Filter{}, 1<<20) {
		age := now.Sub(v.Time)
		if age >= time.Hour || age < 0 {
			continue
		}
		min := 59 - int(age/time.Minute)
		if v.Pipeline == "outbound" {
			out[min]++
			d.Out++
		} else {
			in[min]++
			d.In++
		}
		acts[v.Action]++
		for _, r := range v.Rules {
			rules[r.Name]++
		}
	}
	d.Actions, d.TopRules = sortedCounts(acts, 10), sortedCounts(rules, 10)
	d.Chart = drawChart(in[:], out[:])
	return d
}

func drawChart(in, out []int) chart {
	ch := chart{W: 600, H: 120, Max: 1}
	for i := range in {
		ch.Max = max(ch.Max, in[i], out[i])
	}
	line := func(s []int) string {
		var b strings.Builder
		for i, n := range s {
			fmt.Fprintf(&b, "%d,%d ", i*ch.W/(len(s)-1), ch.H-n*(ch.H-10)/ch.Max)
		}
		return strings.TrimSpace(b.String())
	}
	ch.In, ch.Out = line(in), line(out)
	return ch
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, sess *session) {
	d := c.overviewOf(time.Now())
	if wantsJSON(r) {
		writeJSON(w, d)
		return
	}
	c.render(w, sess, "overview", "Overview", d)
}
