package queue

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Handler serves the queue and the quarantine over HTTP, for the admin
// listener of a running server (which holds the spool lock, so the CLI
// cannot edit the spool itself):
//
//	GET  /queue                     the queued messages (JSON, []Info)
//	POST /queue/{id}/retry          retry now
//	POST /queue/{id}/delete         delete without delivery or bounce
//	GET  /quarantine                the held messages (JSON, []Held)
//	POST /quarantine/{id}/release   deliver as addressed
//	POST /quarantine/{id}/delete    delete for good
//
// Mount it on a listener that only the operator reaches (loopback).
func Handler(q *Queue) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, q.List()) })
	mux.HandleFunc("POST /queue/{id}/retry", func(w http.ResponseWriter, r *http.Request) {
		answer(w, "", q.Retry(r.PathValue("id")))
	})
	mux.HandleFunc("POST /queue/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		answer(w, "", q.Delete(r.PathValue("id")))
	})
	mux.HandleFunc("GET /quarantine", func(w http.ResponseWriter, r *http.Request) {
		held, err := ListQuarantine(q.opts.QuarantineDir)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, held)
	})
	mux.HandleFunc("POST /quarantine/{id}/release", func(w http.ResponseWriter, r *http.Request) {
		id, err := q.Release(r.PathValue("id"))
		answer(w, id, err)
	})
	mux.HandleFunc("POST /quarantine/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		answer(w, "", DeleteQuarantined(q.opts.QuarantineDir, r.PathValue("id")))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// answer answers an operation: 200 with the new queue id (if any), 404 for
// an unknown id, 409 for anything else the operator may retry.
func answer(w http.ResponseWriter, id string, err error) {
	switch {
	case err == nil:
		writeJSON(w, map[string]string{"id": id})
	case errors.Is(err, ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	default:
		http.Error(w, err.Error(), http.StatusConflict)
	}
}
