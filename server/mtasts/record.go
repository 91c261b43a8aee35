package mtasts

import (
	"errors"
	"fmt"
	"strings"
)

// Record is the _mta-sts TXT record of a domain (RFC 8461 section 3.1).
type Record struct {
	ID string // changes whenever the policy does
}

// ErrRecord is wrapped by every TXT record syntax error.
var ErrRecord = errors.New("mta-sts: invalid _mta-sts record")

// ErrNoRecord means the domain publishes no usable record: none, or more
// than one beginning with v=STSv1 (section 3.1 then says there is none).
var ErrNoRecord = errors.New("mta-sts: no _mta-sts record")

// ParseRecord parses one record: "v=STSv1; id=...;" with optional
// whitespace around the fields, the version first, an id of 1 to 32
// letters and digits, other fields ignored.
func ParseRecord(txt string) (*Record, error) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[0]) != "v=STSv1" {
		return nil, fmt.Errorf("%w: %q does not begin with v=STSv1", ErrRecord, txt)
	}
	var r Record
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			if strings.TrimSpace(f) == "" {
				continue
			}
			return nil, fmt.Errorf("%w: field %q has no '='", ErrRecord, f)
		}
		if k == "id" && r.ID == "" {
			if !validID(v) {
				return nil, fmt.Errorf("%w: id %q is not 1 to 32 letters and digits", ErrRecord, v)
			}
			r.ID = v
		}
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%w: no id", ErrRecord)
	}
	return &r, nil
}

// PickRecord chooses the record among a domain's TXT strings at
// _mta-sts: the ones beginning with "v=STSv1" must be exactly one.
func PickRecord(txts []string) (*Record, error) {
	var found []string
	for _, t := range txts {
		if strings.HasPrefix(t, "v=STSv1") {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return nil, ErrNoRecord
	case 1:
		return ParseRecord(found[0])
	}
	return nil, fmt.Errorf("%w: %d records begin with v=STSv1", ErrNoRecord, len(found))
}

func validID(v string) bool {
	if v == "" || len(v) > 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
