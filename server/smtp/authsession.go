package smtp

import (
	"errors"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/auth"
)

// AUTH replies (RFC 4954 section 6, RFC 5248).
var (
	errEncryptionRequired = &gosmtp.SMTPError{Code: 538, EnhancedCode: gosmtp.EnhancedCode{5, 7, 11},
		Message: "Encryption required for requested authentication mechanism"}
	errAuthInvalid = &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8},
		Message: "Authentication credentials invalid"}
	errAuthBlocked = &gosmtp.SMTPError{Code: 454, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0},
		Message: "Too many failed authentications from your address, try again later"}
	errNoAuthHere = &gosmtp.SMTPError{Code: 503, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1},
		Message: "AUTH not available on this port; use submission (587 or 465)"}
)

// AuthMechanisms lists PLAIN and LOGIN on submission listeners once the
// session is encrypted; nothing is offered on plaintext or on the MX port.
func (s *session) AuthMechanisms() []string {
	if s.kind == MX || s.tls == nil {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a SASL exchange. Plaintext sessions get 538 5.7.11 before any
// credentials are sent.
func (s *session) Auth(mech string) (sasl.Server, error) {
	switch {
	case s.kind == MX:
		return nil, errNoAuthHere
	case s.tls == nil:
		return nil, errEncryptionRequired
	case s.srv.auth.blocked(s.ip.String()):
		return nil, errAuthBlocked
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && auth.Normalize(identity) != auth.Normalize(user) {
				return s.loginFailed(user, errors.New("authorization identity differs"))
			}
			return s.login(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

func (s *session) login(user, pass string) error {
	if s.srv.auth.blocked(s.ip.String()) {
		return errAuthBlocked
	}
	if err := s.srv.opts.Accounts.Authenticate(user, pass); err != nil {
		return s.loginFailed(user, err)
	}
	s.user = auth.Normalize(user)
	s.srv.opts.Metrics.AuthSuccess.Add(1)
	s.srv.log.Info("auth", "session", s.id, "ip", s.ip.String(), "listener", s.kind, "user", s.user)
	return nil
}

func (s *session) loginFailed(user string, err error) error {
	s.srv.auth.fail(s.ip.String())
	s.srv.opts.Metrics.AuthFailures.Add(1)
	if s.srv.auth.blocked(s.ip.String()) { // this failure began a ban
		s.srv.opts.Metrics.AuthBans.Add(1)
	}
	s.srv.log.Warn("auth failed", "session", s.id, "ip", s.ip.String(), "listener", s.kind, "user", user, "err", err)
	return errAuthInvalid
}

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login): prompt for the user name, then the
// password, each base64-encoded by the SMTP layer.
type loginServer struct {
	check func(user, pass string) error
	user  string
	state int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.state {
	case 0:
		l.state = 1
		if len(response) == 0 { // no initial response
			return []byte("Username:"), false, nil
		}
		l.user = string(response)
		l.state = 2
		return []byte("Password:"), false, nil
	case 1:
		l.user = string(response)
		l.state = 2
		return []byte("Password:"), false, nil
	case 2:
		l.state = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
