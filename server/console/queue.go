package console

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"

	"github.com/sluicemail/sluice/server/queue"
)

func (c *Console) queueList(w http.ResponseWriter, r *http.Request, sess *session) {
	list := c.opts.Queue.List()
	if wantsJSON(r) {
		writeJSON(w, list)
		return
	}
	c.render(w, sess, "queue", "Queue", list)
}

// queuedData is one queued message as /queue/{id} shows it.
type queuedData struct {
	queue.Info
	Header string
}

// queueOne shows the envelope, delivery state and header of a queued
// message (the body is not shown, as for a held one).
func (c *Console) queueOne(w http.ResponseWriter, r *http.Request, sess *session) {
	in, raw, err := c.opts.Queue.Read(r.PathValue("id"))
	if err != nil {
		opError(w, err)
		return
	}
	d := queuedData{Info: in, Header: string(header(raw))}
	if wantsJSON(r) {
		writeJSON(w, d)
		return
	}
	c.render(w, sess, "queued", "Queued message", d)
}

// header is the header section of a message (all of it if it has no body).
func header(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i]
	}
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		return raw[:i]
	}
	return raw
}

// opError answers a failed operation: 404 for an unknown id, 409 for
// anything the operator may retry.
func opError(w http.ResponseWriter, err error) {
	code := http.StatusConflict
	if errors.Is(err, queue.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		code = http.StatusNotFound
	}
	http.Error(w, err.Error(), code)
}

func (c *Console) queueOp(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	var err error
	switch r.PathValue("op") {
	case "retry":
		err = c.opts.Queue.Retry(id)
	case "delete":
		err = c.opts.Queue.Delete(id)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		opError(w, err)
		return
	}
	c.opts.Logger.Info("console: queue "+r.PathValue("op"), "id", id, "by", who(sess))
	back(w, r, sess, "/queue", map[string]string{"id": ""})
}

func who(sess *session) string {
	if sess == nil {
		return "bearer token"
	}
	return sess.user
}

func (c *Console) quarantineList(w http.ResponseWriter, r *http.Request, sess *session) {
	held, err := queue.ListQuarantine(c.opts.Queue.QuarantineDir())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if wantsJSON(r) {
		if held == nil {
			held = []queue.Held{}
		}
		writeJSON(w, held)
		return
	}
	c.render(w, sess, "quarantine", "Quarantine", held)
}

type heldData struct {
	ID     string
	Env    queue.Envelope
	Header string
	Size   int
}

// quarantineOne shows the envelope and header of a held message (the
// body is not shown: the header is what decides a release).
func (c *Console) quarantineOne(w http.ResponseWriter, r *http.Request, sess *session) {
	env, raw, err := queue.ReadQuarantined(c.opts.Queue.QuarantineDir(), r.PathValue("id"))
	if err != nil {
		opError(w, err)
		return
	}
	d := heldData{ID: r.PathValue("id"), Env: env, Header: string(header(raw)), Size: len(raw)}
	if wantsJSON(r) {
		writeJSON(w, d)
		return
	}
	c.render(w, sess, "held", "Held message", d)
}

func (c *Console) quarantineOp(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	var newID string
	var err error
	switch r.PathValue("op") {
	case "release":
		newID, err = c.opts.Queue.Release(id)
	case "delete":
		err = queue.DeleteQuarantined(c.opts.Queue.QuarantineDir(), id)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		opError(w, err)
		return
	}
	c.opts.Logger.Info("console: quarantine "+r.PathValue("op"), "id", id, "queued_as", newID, "by", who(sess))
	back(w, r, sess, "/quarantine", map[string]string{"id": newID})
}
