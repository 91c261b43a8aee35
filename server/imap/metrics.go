package imap

import (
	"strings"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the IMAP server did, for the admin listener's
// /metrics. It is a prometheus.Collector; one Metrics may be shared by
// several Servers (the plain and the implicit-TLS listener share one).
type Metrics struct {
	open     atomic.Int64 // sessions open now
	sessions *prometheus.CounterVec
	commands *prometheus.CounterVec
	auth     *prometheus.CounterVec
}

// NewMetrics returns zeroed counters.
func NewMetrics() *Metrics {
	m := &Metrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_imap_sessions_total",
			Help: "IMAP sessions ended, by outcome: authenticated (a user logged in) or unauthenticated (none did)."},
			[]string{"outcome"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_imap_commands_total",
			Help: "IMAP commands by name (\"unknown\" for a name the server does not know) and status of the tagged answer (ok, no, bad)."},
			[]string{"command", "status"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_imap_logins_total",
			Help: "IMAP logins (LOGIN, AUTHENTICATE) by result: ok, failed (wrong user or password), refused (too many failures from that IP)."},
			[]string{"result"}),
	}
	// The series a dashboard and the alerts read exist from the start,
	// so that rate() sees the first failure.
	for _, o := range []string{"authenticated", "unauthenticated"} {
		m.sessions.WithLabelValues(o)
	}
	for _, r := range []string{loginOK, loginFailed, loginRefused} {
		m.auth.WithLabelValues(r)
	}
	return m
}

// Login results (the result label of sluice_imap_logins_total).
const (
	loginOK      = "ok"
	loginFailed  = "failed"
	loginRefused = "refused"
)

var connectionsDesc = prometheus.NewDesc("sluice_imap_connections",
	"IMAP sessions open now.", nil, nil)

// knownCommands are the command names go-imap dispatches (imapserver
// conn.go readCommand); anything else a client sends is counted as
// "unknown", so that a client cannot grow the label set.
var knownCommands = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Split("NOOP CHECK LOGOUT CAPABILITY STARTTLS AUTHENTICATE UNAUTHENTICATE LOGIN ENABLE "+
		"CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE STATUS LIST LSUB NAMESPACE IDLE SELECT EXAMINE CLOSE UNSELECT "+
		"APPEND FETCH EXPUNGE STORE COPY MOVE SEARCH SORT CANCELUPDATE THREAD GETQUOTA GETQUOTAROOT SETQUOTA ID", " ") {
		m[c] = true
	}
	for _, c := range []string{"FETCH", "EXPUNGE", "STORE", "COPY", "MOVE", "SEARCH", "SORT", "THREAD"} {
		m["UID "+c] = true
	}
	return m
}()

// command counts one command; go-imap calls it (Options.CommandDone).
func (m *Metrics) command(name string, status imap.StatusResponseType) {
	if !knownCommands[name] {
		name = "unknown"
	}
	st := "bad"
	switch status {
	case imap.StatusResponseTypeOK:
		st = "ok"
	case imap.StatusResponseTypeNo:
		st = "no"
	case imap.StatusResponseTypeBye:
		st = "bye" // the server closed the connection instead of answering
	}
	m.commands.WithLabelValues(name, st).Inc()
}

// started counts a session that began.
func (m *Metrics) started() { m.open.Add(1) }

// ended counts a session that ended, authenticated or not.
func (m *Metrics) ended(authenticated bool) {
	m.open.Add(-1)
	outcome := "unauthenticated"
	if authenticated {
		outcome = "authenticated"
	}
	m.sessions.WithLabelValues(outcome).Inc()
}

// login counts a login attempt's result.
func (m *Metrics) login(result string) { m.auth.WithLabelValues(result).Inc() }

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- connectionsDesc
	m.sessions.Describe(ch)
	m.commands.Describe(ch)
	m.auth.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.GaugeValue, float64(m.open.Load()))
	m.sessions.Collect(ch)
	m.commands.Collect(ch)
	m.auth.Collect(ch)
}

// Metrics returns the server's counters, to register on /metrics.
func (s *Server) Metrics() *Metrics { return s.opts.Metrics }
