package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicemail/sluice/server/journal"
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

// verdictPage is one verdict and, with the verdict journal on, its
// record and the story `sluice explain` tells of it.
type verdictPage struct {
	verdicts.Verdict
	Journal *journal.Record `json:"journal,omitempty"`
	Story   string          `json:"-"`
}

func (c *Console) verdictOne(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	v, ok := c.opts.Verdicts.Get(id)
	if !ok {
		c.findVerdicts(w, r, sess, id)
		return
	}
	p := verdictPage{Verdict: v}
	if rc, ok := c.opts.Verdicts.(verdicts.Recorder); ok && v.ID != "" {
		if rec, ok := rc.Record(v.ID); ok {
			var b strings.Builder
			journal.Story(&b, rec)
			p.Journal, p.Story = rec, b.String()
		}
	}
	if wantsJSON(r) {
		writeJSON(w, p)
		return
	}
	c.render(w, sess, "verdict", "Verdict "+v.ID, p)
}

// findVerdicts answers /verdicts/{key} for a key that is not a known
// verdict ID with what `sluice explain key` finds: the verdict itself for
// one (a redirect to its page), a list for several (a session with
// several transactions, a Message-ID sent twice), 404 for none.
func (c *Console) findVerdicts(w http.ResponseWriter, r *http.Request, sess *session, key string) {
	var found []verdicts.Verdict
	if f, ok := c.opts.Verdicts.(verdicts.Finder); ok {
		found = f.Find(key)
	}
	switch {
	case len(found) == 0:
		http.Error(w, "404 no such verdict (neither among the recent ones nor in the verdict journal, by journal ID, session ID or Message-ID)", http.StatusNotFound)
	case len(found) == 1 && found[0].ID != "":
		http.Redirect(w, r, "/verdicts/"+url.PathEscape(found[0].ID), http.StatusSeeOther)
	case wantsJSON(r):
		writeJSON(w, found)
	default:
		c.render(w, sess, "verdicts", "Verdicts of "+key, verdictListData{Filter: verdicts.Filter{Query: key}, Actions: actions, Verdicts: found})
	}
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
	// Subscribed before saying so: a verdict after "connected" is sent.
	ch := c.opts.Verdicts.Subscribe(r.Context())
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	fl.Flush()
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
