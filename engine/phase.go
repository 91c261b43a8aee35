package engine

import "fmt"

// Phase is the SMTP phase from which a fact is known. Rules are evaluated at
// each phase and may decide as soon as every fact they read is known.
type Phase int

// The SMTP phases, in the order a transaction goes through them.
const (
	PhaseConnect Phase = iota
	PhaseHelo
	PhaseMail
	PhaseRcpt
	PhaseData
)

var phaseNames = [...]string{"connect", "helo", "mail", "rcpt", "data"}

// String returns the lower-case name used in rule files and logs.
func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return fmt.Sprintf("phase(%d)", int(p))
	}
	return phaseNames[p]
}

// ParsePhase is the inverse of String.
func ParsePhase(s string) (Phase, error) {
	for i, n := range phaseNames {
		if n == s {
			return Phase(i), nil
		}
	}
	return 0, fmt.Errorf("unknown phase %q (want connect, helo, mail, rcpt or data)", s)
}

// MarshalText makes phases print by name in JSON output.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }
