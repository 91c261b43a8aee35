package main

import (
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/sluicemail/sluice/stages/dkim"
)

func init() {
	register(&command{
		name:    "dkim",
		summary: "DKIM keys: keygen writes a signing key and prints its DNS record",
		run:     func(args []string) int { return runDKIM(args, os.Stdout, os.Stderr) },
	})
}

func runDKIM(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "keygen" {
		fmt.Fprintln(stderr, "usage: sluice dkim keygen --domain D --selector S [--type rsa|ed25519] [--out FILE]")
		return 2
	}
	return dkimKeygen(args[1:], stdout, stderr)
}

// dkimKeygen writes a new private key (mode 0600, never over an existing
// file) and prints the TXT record to publish at S._domainkey.D.
func dkimKeygen(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("sluice dkim keygen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	domain := flags.String("domain", "", "signing domain (d=), e.g. example.org")
	selector := flags.String("selector", "", "selector (s=), e.g. 2026a")
	typ := flags.String("type", "rsa", "key type: rsa (2048 bits) or ed25519")
	out := flags.String("out", "", "private key file (default SELECTOR.DOMAIN.key)")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *domain == "" || *selector == "" || flags.NArg() > 0 {
		fmt.Fprintln(stderr, "sluice dkim keygen: --domain and --selector are required, and nothing else")
		flags.Usage()
		return 2
	}
	if *out == "" {
		*out = *selector + "." + *domain + ".key"
	}
	key, err := dkim.GenerateKey(*typ)
	if err != nil {
		fmt.Fprintln(stderr, "sluice dkim keygen:", err)
		return 2
	}
	record, err := dkim.TXTRecord(*domain, *selector, key.Public())
	if err == nil {
		err = writeKey(*out, key)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sluice dkim keygen:", err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s private key to %s; publish this record:\n", *typ, *out)
	fmt.Fprintln(stdout, record)
	return 0
}

// writeKey creates path with mode 0600, refusing to replace a file, and
// syncs it: losing a key after its record is published breaks signing.
func writeKey(path string, key crypto.Signer) error {
	pemBytes, err := dkim.MarshalKey(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; refusing to overwrite a key", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
