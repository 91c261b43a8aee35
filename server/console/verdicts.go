package console

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/sluicemail/sluice/server/verdicts"
)

// listLimit bounds the verdicts a page shows.
const listLimit = 200

type verdictListData struct {
	Filter   verdicts.Filter
	Actions  []string
	Verdicts []verdicts.Verdict
}

var actions = []string{"accept", "reject", "tempfail", "junk", "quarantine", "discard", "redirect"}

func filterOf(r *http.Request) verdicts.Filter {
	return verdicts.Filter{Action: r.FormValue("action"), Query: r.FormValue("q")}
}

func (c *Console) verdictList(w http.ResponseWriter, r *http.Request, sess *session) {
	f := filterOf(r)
	list := c.opts.Verdicts.List(f, listLimit)
	if wantsJSON(r) {
		if list == nil {
			list = []verdicts.Verdict{}
		}
		writeJSON(w, list)
		return
	}
	c.render(w, sess, "verdicts", "Verdicts", verdictListData{Filter: f, Actions: actions, Verdicts: list})
}

func (c *Console) verdictOne(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := c.opts.Verdicts.Get(r.PathValue("id"))
	if !ok {
		http.Error(w, "404 no such verdict (only recent verdicts are kept)", http.StatusNotFound)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, v)
		return
	}
	c.render(w, sess, "verdict", "Verdict "+v.ID, v)
}

// events streams new verdicts passing the request's filter as server-sent
// events (one JSON object per "verdict" event), with a comment every 15 s
// so that proxies keep the connection.
func (c *Console) events(w http.ResponseWriter, r *http.Request, sess *session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	f := filterOf(r)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	fl.Flush()
	ch := c.opts.Verdicts.Subscribe(r.Context())
	keep := newTicker()
	defer keep.Stop()
	for {
		select {
		case v, open := <-ch:
			if !open {
				return
			}
			if !f.Match(&v) {
				continue
			}
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "event: verdict\nid: %s\ndata: %s\n\n", v.ID, b)
			fl.Flush()
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}
