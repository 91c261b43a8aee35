package auth

import "fmt"

// Imported is an account brought from another server with its password
// hash as that server stored it.
type Imported struct {
	Address  string
	Hash     string // "{SCHEME}hash" or crypt(3) form
	Disabled string // why it cannot log in; "" when Hash is usable
}

// ImportOutcome says what happened to one Imported account.
type ImportOutcome int

// The outcomes of ImportUsers.
const (
	ImportAdded    ImportOutcome = iota // a new account
	ImportExisting                      // the address was an account already: left as it was
	ImportRefused                       // not a valid address, or an alias
)

// ImportUsers adds accounts with foreign hashes in one write of the
// accounts file. An address that is already an account keeps its own
// password (a re-run, or a user who changed it on sluice, loses nothing);
// a hash that CheckHash refuses is stored disabled, never as a password
// anyone could guess. The outcomes are in the order of users.
func (a *Accounts) ImportUsers(users []Imported) ([]ImportOutcome, []error, error) {
	out := make([]ImportOutcome, len(users))
	errs := make([]error, len(users))
	err := a.update(func(f *file) error {
		for i, u := range users {
			addr := Normalize(u.Address)
			if err := checkAddress(addr); err != nil {
				out[i], errs[i] = ImportRefused, err
				continue
			}
			if _, ok := f.Users[addr]; ok {
				out[i] = ImportExisting
				continue
			}
			if _, ok := f.Aliases[addr]; ok {
				out[i], errs[i] = ImportRefused, fmt.Errorf("%w: %s is an alias", ErrExists, addr)
				continue
			}
			rec := User{Password: u.Hash, Disabled: u.Disabled}
			if rec.Disabled == "" {
				if err := CheckHash(u.Hash); err != nil {
					rec.Disabled = err.Error()
				}
			}
			if rec.Disabled != "" && rec.Password == "" {
				rec.Password = "{DISABLED}"
			}
			f.Users[addr] = rec
			out[i] = ImportAdded
		}
		return nil
	})
	return out, errs, err
}

// DisabledReason returns why addr cannot log in, or "" when it can (or
// is no account).
func (a *Accounts) DisabledReason(addr string) string {
	return a.snapshot().Users[Normalize(addr)].Disabled
}
