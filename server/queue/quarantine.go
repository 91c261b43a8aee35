package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The quarantine area holds messages a rule decided to keep away from
// every mailbox. Each is one file <id>.msg in QuarantineDir, in the spool's
// put-record format (envelope and bytes), written atomically and fsynced;
// the operator lists, releases (delivers as addressed) or deletes them.

// Held is a quarantined message.
type Held struct {
	ID   string
	Env  Envelope
	Size int
	Held time.Time // when it entered the quarantine
}

// hold writes m into the quarantine area.
func (q *Queue) hold(m *message, raw []byte) error {
	dir := q.opts.QuarantineDir
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := syncPath(filepath.Dir(dir), q.opts.Fsync); err != nil {
			return err
		}
	}
	p := &putRecord{ID: m.id, Env: m.env, State: make([]byte, len(m.env.Rcpt)), Raw: raw}
	frame := appendFrame(nil, recPut, encodePut(p))
	tmp := filepath.Join(dir, "."+m.id+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(frame)
	if err == nil {
		err = q.opts.Fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, m.id+".msg"))
	}
	if err == nil {
		err = syncPath(dir, q.opts.Fsync)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("quarantine %s: %w", m.id, err)
	}
	q.log.Info("quarantined", "id", m.id, "from", m.env.From, "reason", m.env.Reason)
	return nil
}

func syncPath(dir string, fsync func(*os.File) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return fsync(d)
}

// ListQuarantine returns the messages held in dir, oldest first.
func ListQuarantine(dir string) ([]Held, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Held
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".msg")
		if !ok || strings.HasPrefix(id, ".") {
			continue
		}
		env, raw, err := ReadQuarantined(dir, id)
		if err != nil {
			return nil, err
		}
		h := Held{ID: id, Env: env, Size: len(raw)}
		if fi, err := e.Info(); err == nil {
			h.Held = fi.ModTime()
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ReadQuarantined returns the envelope and bytes of a held message.
func ReadQuarantined(dir, id string) (Envelope, []byte, error) {
	if !validID(id) {
		return Envelope{}, nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	b, err := os.ReadFile(filepath.Join(dir, id+".msg"))
	if errors.Is(err, os.ErrNotExist) {
		return Envelope{}, nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Envelope{}, nil, err
	}
	typ, payload, _, err := decodeFrame(b)
	if err == nil && typ != recPut {
		err = errCorrupt
	}
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("quarantine %s: %w", id, err)
	}
	p, err := decodePut(payload)
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("quarantine %s: %w", id, err)
	}
	return p.Env, p.Raw, nil
}

// DeleteQuarantined removes a held message for good.
func DeleteQuarantined(dir, id string) error {
	if !validID(id) {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err := os.Remove(filepath.Join(dir, id+".msg")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return err
	}
	return syncPath(dir, (*os.File).Sync)
}

// Release queues a held message for delivery as addressed and removes it
// from the quarantine; it returns the new queue id. The copy is durable in
// the spool before the held file is removed, so a crash in between leaves
// at worst a message both queued and still held.
func (q *Queue) Release(id string) (string, error) {
	dir := q.opts.QuarantineDir
	env, raw, err := ReadQuarantined(dir, id)
	if err != nil {
		return "", err
	}
	env.Quarantine = false
	env.Reason = "released from quarantine (" + id + ")"
	nid, err := q.Put(context.Background(), env, raw)
	if err != nil {
		return "", err
	}
	if err := DeleteQuarantined(dir, id); err != nil {
		return nid, err
	}
	q.log.Info("released from quarantine", "id", id, "queued", nid)
	return nid, nil
}

// validID accepts queue ids only, so a CLI argument cannot name a path.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// QuarantineDir returns where held messages are kept, for ListQuarantine
// and ReadQuarantined.
func (q *Queue) QuarantineDir() string { return q.opts.QuarantineDir }
