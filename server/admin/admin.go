// Package admin is sluice's small HTTP interface for operators and
// monitoring: GET /healthz, GET /metrics (counters in the Prometheus text
// exposition format) and POST /reload (what SIGHUP does). It has no
// authentication, so it belongs on a loopback address.
package admin

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Options say what the admin listener reports and does.
type Options struct {
	// Metrics writes counters in the text format; each is called per
	// request, in order.
	Metrics []func(w io.Writer)
	// Gauges are single values computed per request (queue length...).
	Gauges map[string]func() float64
	// Reload does what SIGHUP does; its error is the response body.
	Reload func() error
	// Health returns nil while the server works.
	Health func() error
	// Mount adds handlers by ServeMux pattern (the queue and quarantine
	// API, for `sluice queue` and `sluice quarantine` while the server runs).
	Mount  map[string]http.Handler
	Logger *slog.Logger
}

// Handler returns the HTTP handler.
func Handler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if o.Health != nil {
			if err := o.Health(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		for _, m := range o.Metrics {
			m(w)
		}
		names := make([]string, 0, len(o.Gauges))
		for n := range o.Gauges {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "# TYPE %s gauge\n%s %g\n", n, n, o.Gauges[n]())
		}
	})
	var reloadMu sync.Mutex
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		if o.Reload == nil {
			http.Error(w, "reload not available", http.StatusNotImplemented)
			return
		}
		reloadMu.Lock()
		err := o.Reload()
		reloadMu.Unlock()
		if err != nil {
			o.Logger.Warn("reload via admin refused", "err", err)
			http.Error(w, "reload refused; the running rules stay:\n"+err.Error(), http.StatusUnprocessableEntity)
			return
		}
		io.WriteString(w, "reloaded\n")
	})
	for pattern, h := range o.Mount {
		mux.Handle(pattern, h)
	}
	return mux
}

// Server is a running admin listener.
type Server struct {
	srv  *http.Server
	Addr net.Addr
}

// Listen serves the handler on addr in the background.
func Listen(addr string, o Options) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{srv: &http.Server{Handler: Handler(o), ReadHeaderTimeout: 10 * time.Second}, Addr: l.Addr()}
	go s.srv.Serve(l)
	return s, nil
}

// Close stops the listener.
func (s *Server) Close() error { return s.srv.Close() }
