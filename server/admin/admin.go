// Package admin is sluice's small HTTP interface for operators and
// monitoring: GET /healthz (liveness), GET /readyz (each dependency with a
// reason, 503 when one fails), GET /metrics (Prometheus, from
// client_golang, with the Go and process collectors) and POST /reload
// (what SIGHUP does). These have no authentication, so the listener
// belongs on a loopback address.
package admin

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sluicemail/sluice/server/health"
)

// Options say what the admin listener reports and does.
type Options struct {
	// Collectors are registered, beside the Go and process collectors,
	// in a registry of this handler's own (so that servers in one test
	// process do not share counters).
	Collectors []prometheus.Collector
	// Ready lists the dependencies /readyz checks (none: always ready).
	Ready func() []health.Check
	// Reload does what SIGHUP does; its error is the response body.
	Reload func() error
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
	// Liveness only: what is wrong but would not be mended by a restart
	// (DNS, disk, certificate, backlog) is /readyz's.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	ready := o.Ready
	if ready == nil {
		ready = func() []health.Check { return nil }
	}
	mux.Handle("GET /readyz", health.Handler(ready))
	mux.Handle("GET /metrics", metricsHandler(o))
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

// metricsHandler registers the collectors; a collector that cannot be
// registered (a name clash) is logged and left out rather than failing
// the whole listener.
func metricsHandler(o Options) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range o.Collectors {
		if err := reg.Register(c); err != nil {
			o.Logger.Error("admin: metrics collector refused", "err", err)
		}
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelError)})
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
