// Package milter runs sluice's rules behind another MTA: a milter server
// (the Sendmail/Postfix mail filter protocol, version 6, via
// github.com/d--j/go-milter) whose callbacks feed the same engine pipelines
// as the SMTP server, phase by phase, and whose verdicts become milter
// replies and message modifications. The MTA keeps the queue, delivery and
// TLS; sluice decides.
//
// d--j/go-milter rather than emersion/go-milter: it speaks protocol 6 with
// header insertion at an index and leading-space negotiation, has a client
// the tests play the MTA with, and its authors test it against Postfix.
package milter

import (
	"context"
	"log/slog"
	"net"

	gomilter "github.com/d--j/go-milter"
	"github.com/sluicemail/sluice/engine"
)

// Signer DKIM-signs an outbound message: it returns raw with the signature
// field(s) prepended.
type Signer interface {
	Sign(raw []byte) ([]byte, error)
}

// Options configure a Server. Pipeline is required.
type Options struct {
	// Pipeline returns the current pipeline by name (inbound, outbound),
	// nil when the rules have none; called once per message.
	Pipeline func(name string) *engine.Pipeline
	// DNS is the resolver of the stages; nil uses the pipeline's.
	DNS engine.Resolver
	// AuthservID names us in Authentication-Results; "" takes the MTA's
	// host name (macro j).
	AuthservID string
	// Signer signs mail from authenticated senders (nil: none).
	Signer Signer
	// Journal records each verdict (nil: none).
	Journal Journal
	// Metrics counts sessions and replies (nil: a private one).
	Metrics *Metrics
	// Rules counts verdicts and stage runs (nil: not counted); the SMTP
	// server's metrics when the milter runs beside it (metrics.go).
	Rules  RuleMetrics
	Logger *slog.Logger
}

// Server is a milter listener.
type Server struct {
	opts Options
	srv  *gomilter.Server
	log  *slog.Logger
}

// The modifications sluice may ask of the MTA, negotiated at connect.
const actions = gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptAddRcpt |
	gomilter.OptRemoveRcpt | gomilter.OptQuarantine

// The macros a session reads, by the stage the MTA sends them at (Postfix
// sends these by default; asking makes other MTAs send them too).
var macros = map[gomilter.MacroStage][]gomilter.MacroName{
	gomilter.StageConnect:   {gomilter.MacroMTAFQDN, gomilter.MacroClientAddr, gomilter.MacroDaemonPort},
	gomilter.StageHelo:      {gomilter.MacroTlsVersion, gomilter.MacroCipher},
	gomilter.StageMail:      {gomilter.MacroAuthAuthen, gomilter.MacroAuthType},
	gomilter.StageEOM:       {gomilter.MacroQueueId},
	gomilter.StageEOH:       {gomilter.MacroQueueId},
	gomilter.StageRcpt:      {gomilter.MacroRcptMailer},
	gomilter.StageData:      {gomilter.MacroQueueId},
	gomilter.StageEndMarker: nil,
}

// New returns a server; call Serve with a listener.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	s := &Server{opts: opts, log: opts.Logger}
	mopts := []gomilter.Option{
		gomilter.WithDynamicMilter(func(version uint32, action gomilter.OptAction, protocol gomilter.OptProtocol, maxData gomilter.DataSize) gomilter.Milter {
			s.opts.Metrics.connections.Inc()
			return &session{srv: s}
		}),
		gomilter.WithActions(actions),
		// Header values arrive with their leading space, so that the
		// message the rules see is the message as sent.
		gomilter.WithProtocol(gomilter.OptHeaderLeadingSpace),
	}
	for stage, names := range macros {
		if len(names) > 0 {
			mopts = append(mopts, gomilter.WithMacroRequest(stage, names))
		}
	}
	s.srv = gomilter.NewServer(mopts...)
	return s
}

// Metrics returns the server's counters.
func (s *Server) Metrics() *Metrics { return s.opts.Metrics }

// Serve accepts milter connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error { return s.srv.Serve(l) }

// Shutdown stops accepting and waits for the sessions to end, or ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close stops at once.
func (s *Server) Close() error { return s.srv.Close() }
