package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/doctor"
	"github.com/sluicemail/sluice/server/mtasts"
	"github.com/sluicemail/sluice/stages/dkim"
)

func init() {
	register(&command{
		name:    "setup",
		summary: "make a server for a domain: config, DKIM keys, first account, systemd unit; print the DNS records",
		run:     func(args []string) int { return runSetup(args, os.Stdin, os.Stdout, os.Stderr) },
	})
}

// setupPlan is what setup writes, from its flags.
type setupPlan struct {
	Domain, Hostname, Dir string
	IPs                   []netip.Addr
	Selectors             [2]string // RSA, Ed25519
	Exe                   string    // the sluice binary, for the unit
}

func runSetup(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("setup", "--domain D --hostname H [--ip IP]... --dir DIR [--force] [--password-stdin]",
		"Write DIR/sluice.yaml (commented), the data directory, DKIM keys (RSA-2048 and Ed25519),\n"+
			"the account postmaster@D and DIR/sluice.service, then print every DNS record to publish\n"+
			"(zone-file lines on standard output; everything else on standard error).\n"+
			"A second run changes nothing; --force rewrites the config and the unit (keys and accounts stay).")
	fs.SetOutput(stderr)
	var p setupPlan
	var ips multiFlag
	fs.StringVar(&p.Domain, "domain", "", "the mail domain, e.g. example.net")
	fs.StringVar(&p.Hostname, "hostname", "", "this server's name, where the MX points, e.g. mx.example.net")
	fs.Var(&ips, "ip", "a public address of this server (repeat for IPv4 and IPv6)")
	fs.StringVar(&p.Dir, "dir", "", "directory for the config, keys and data")
	force := fs.Bool("force", false, "rewrite an existing config and unit")
	pwStdin := fs.Bool("password-stdin", false, "read postmaster's password from standard input instead of generating one")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := p.check(ips, fs); err != nil {
		fmt.Fprintln(stderr, "sluice setup:", err)
		return 2
	}
	if err := p.run(*force, *pwStdin, stdin, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "sluice setup:", err)
		return 1
	}
	return 0
}

func (p *setupPlan) check(ips []string, fs *flag.FlagSet) error {
	if p.Domain == "" || p.Hostname == "" || p.Dir == "" || fs.NArg() > 0 {
		return errors.New("--domain, --hostname and --dir are required, and nothing else")
	}
	p.Domain = strings.TrimSuffix(strings.ToLower(p.Domain), ".")
	p.Hostname = strings.TrimSuffix(strings.ToLower(p.Hostname), ".")
	for _, s := range ips {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("--ip %q: not an IP address", s)
		}
		p.IPs = append(p.IPs, ip)
	}
	abs, err := filepath.Abs(p.Dir)
	if err != nil {
		return err
	}
	p.Dir = abs
	if p.Exe, err = os.Executable(); err != nil {
		p.Exe = "/usr/local/bin/sluice"
	}
	return nil
}

// run writes what is missing (or, forced, the config and unit again),
// then prints the records.
func (p *setupPlan) run(force, pwStdin bool, stdin io.Reader, stdout, stderr io.Writer) error {
	confPath := filepath.Join(p.Dir, "sluice.yaml")
	if err := os.MkdirAll(filepath.Join(p.Dir, "data"), 0o700); err != nil {
		return err
	}
	if err := p.keys(stderr); err != nil {
		return err
	}
	changed, err := p.writeFiles(confPath, force, stderr)
	if err != nil {
		return err
	}
	cfg, err := config.Load(confPath)
	if err != nil {
		return fmt.Errorf("the config does not load (a bug; please report): %w", err)
	}
	added, err := p.account(cfg, pwStdin, stdin, stderr)
	if err != nil {
		return err
	}
	if !changed && !added {
		fmt.Fprintf(stderr, "%s is already set up: nothing changed (--force rewrites the config and the unit).\n", p.Dir)
	}
	return printRecords(cfg, stdout, stderr)
}

// keys makes the two DKIM keys unless they exist (a published key is
// never replaced). The selectors carry the month, for later rotation.
func (p *setupPlan) keys(stderr io.Writer) error {
	dir := filepath.Join(p.Dir, "dkim")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	month := time.Now().UTC().Format("200601")
	p.Selectors = [2]string{"r" + month, "e" + month}
	for i, typ := range []string{"rsa", "ed25519"} {
		if existing, _ := filepath.Glob(filepath.Join(dir, p.Domain+"."+typ+".*.pem")); len(existing) > 0 {
			p.Selectors[i] = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(existing[0]), p.Domain+"."+typ+"."), ".pem")
			continue
		}
		key, err := dkim.GenerateKey(typ)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, p.Domain+"."+typ+"."+p.Selectors[i]+".pem")
		if err := writeKey(path, key); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote the %s DKIM key %s\n", typ, path)
	}
	return nil
}

// writeFiles writes the config and the unit when absent or forced.
func (p *setupPlan) writeFiles(confPath string, force bool, stderr io.Writer) (bool, error) {
	changed := false
	for _, f := range []struct {
		path string
		tmpl *template.Template
		mode fs.FileMode
	}{{confPath, configTemplate, 0o600}, {filepath.Join(p.Dir, "sluice.service"), unitTemplate, 0o644}} {
		if _, err := os.Stat(f.path); err == nil && !force {
			continue
		}
		var b strings.Builder
		if err := f.tmpl.Execute(&b, p); err != nil {
			return false, err
		}
		if err := writeFileAtomic(f.path, []byte(b.String()), f.mode); err != nil {
			return false, err
		}
		fmt.Fprintf(stderr, "wrote %s\n", f.path)
		changed = true
	}
	return changed, nil
}

func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// account creates postmaster@domain (RFC 5321 section 4.5.1 requires the
// address; DMARC and TLS reports go there) unless it exists.
func (p *setupPlan) account(cfg *config.Config, pwStdin bool, stdin io.Reader, stderr io.Writer) (bool, error) {
	accounts, err := auth.Open(cfg.Data)
	if err != nil {
		return false, err
	}
	addr := "postmaster@" + p.Domain
	for _, u := range accounts.List() {
		if u.Address == addr {
			return false, nil
		}
	}
	var pw string
	if pwStdin {
		if pw, err = readPassword(stdin, stderr, true); err != nil {
			return false, err
		}
	} else {
		b := make([]byte, 15)
		rand.Read(b)
		pw = base64.RawURLEncoding.EncodeToString(b)
	}
	if err := accounts.AddUser(addr, pw); err != nil {
		return false, err
	}
	if pwStdin {
		fmt.Fprintf(stderr, "added the account %s\n", addr)
	} else {
		fmt.Fprintf(stderr, "added the account %s with the password %s (shown once: note it now)\n", addr, pw)
	}
	return true, nil
}

// printRecords writes the records of every domain, as zone-file lines
// with a comment each, from the config as it is.
func printRecords(cfg *config.Config, stdout, stderr io.Writer) error {
	var keys []doctor.DKIMKey
	for _, k := range cfg.DKIM.Keys {
		key, err := dkim.LoadKey(k.Key)
		if err != nil {
			return err
		}
		keys = append(keys, doctor.DKIMKey{Domain: k.Domain, Selector: k.Selector, Public: key.Public()})
	}
	var ips []netip.Addr
	for _, s := range cfg.PublicIPs {
		ips = append(ips, netip.MustParseAddr(s))
	}
	if len(ips) == 0 {
		fmt.Fprintln(stderr, "no --ip given: add the A/AAAA and PTR records for your addresses yourself, and public_ips: to the config")
	}
	policy := mtasts.Policy{Mode: cfg.MTASTS.Mode, MX: cfg.MTASTS.MX, MaxAge: cfg.MTASTS.MaxAge.D()}
	fmt.Fprintln(stderr, "Publish these records (the PTR records are set by your hosting provider):")
	for _, d := range cfg.Domains {
		var dk []doctor.DKIMKey
		for _, k := range keys {
			if k.Domain == d {
				dk = append(dk, k)
			}
		}
		recs, err := doctor.Records(doctor.Setup{Domain: d, Hostname: cfg.Hostname, IPs: ips, DKIM: dk, STSID: policy.ID(),
			Ports: clientPorts(cfg), Web: cfg.Listen.HTTPS != "" && cfg.MTASTS.Mode != config.STSNone})
		if err != nil {
			return err
		}
		for _, r := range recs {
			fmt.Fprintf(stdout, "; %s\n%s\n", r.Comment, r.Line)
		}
	}
	fmt.Fprintf(stderr, "Then: sluice serve --config %s, and sluice doctor --config %s\n", cfg.File, cfg.File)
	return nil
}

func clientPorts(cfg *config.Config) map[string]int {
	return map[string]int{"submission": portOf(cfg.Listen.Submission), "submissions": portOf(cfg.Listen.Submissions),
		"imap": portOf(cfg.Listen.IMAP), "imaps": portOf(cfg.Listen.IMAPS)}
}
