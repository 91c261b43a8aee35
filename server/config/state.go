package config

import "fmt"

// State is where rate limits, greylisting and auth-failure bans are kept.
// Without redis they stay in the data directory (one node); with it every
// node pointing at the same Redis shares them.
type State struct {
	Redis *Redis `yaml:"redis"`
}

// Redis is the shared state server.
type Redis struct {
	Addr         string   `yaml:"addr"`          // host:port
	PasswordFile string   `yaml:"password_file"` // file holding the password (AUTH); empty for none
	Username     string   `yaml:"username"`      // ACL user (Redis 6+); empty for the default user
	DB           int      `yaml:"db"`            // database number; default 0
	Timeout      Duration `yaml:"timeout"`       // per command, connect included; default 1s
	TLS          bool     `yaml:"tls"`           // speak TLS to Redis (its tls-port)
	CAFile       string   `yaml:"ca_file"`       // PEM CA certificates to verify it with; default the system's
	ServerName   string   `yaml:"server_name"`   // name its certificate must hold; default the host of addr
	// DNSCache shares the resolver's answers between the nodes through
	// this Redis, under each node's own cache (off by default: each node
	// caches for itself, which is enough for most).
	DNSCache bool `yaml:"dns_cache"`
}

func (c *Config) validateState() []fieldError {
	r := c.State.Redis
	if r == nil {
		return nil
	}
	var errs []fieldError
	if err := checkHostPort(r.Addr); err != nil {
		errs = append(errs, fieldError{"$.state.redis.addr", fmt.Sprintf("%v", err)})
	}
	if r.DB < 0 || r.DB > 15 {
		errs = append(errs, fieldError{"$.state.redis.db", fmt.Sprintf("db must be 0..15, got %d", r.DB)})
	}
	if r.Timeout < 0 {
		errs = append(errs, fieldError{"$.state.redis.timeout", "timeout must not be negative"})
	}
	if !r.TLS && (r.CAFile != "" || r.ServerName != "") {
		errs = append(errs, fieldError{"$.state.redis.tls", "ca_file and server_name need tls: true"})
	}
	return errs
}
