package config

// Migration holds the settings for the first days on sluice after moving
// from another server (see MIGRATING.md).
type Migration struct {
	// SoftBounce turns every permanent refusal into a temporary one, as
	// Postfix's soft_bounce: 5xx replies at any SMTP phase go out as 4xx,
	// and a relay or local delivery that fails permanently (or expires)
	// stays queued instead of bouncing. Each is logged with the reply it
	// replaced. A mistake then costs a delay, not a lost message.
	SoftBounce bool `yaml:"soft_bounce"`
	// RehashPasswords replaces a password hash imported by `sluice import
	// accounts` with sluice's bcrypt on the user's first successful login
	// (default true). False keeps the imported hashes as they are.
	RehashPasswords *bool `yaml:"rehash_passwords"`
}

// Rehash reports whether imported password hashes are replaced at login.
func (m Migration) Rehash() bool { return m.RehashPasswords == nil || *m.RehashPasswords }
