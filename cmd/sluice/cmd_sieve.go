package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/sieve"
	"github.com/sluicemail/sluice/server/sieve/scripts"
	"github.com/sluicemail/sluice/server/store"
)

func init() {
	register(&command{
		name:    "sieve",
		summary: "users' Sieve filters: check, put, test",
		run:     func(args []string) int { return runSieve(args, os.Stdout, os.Stderr) },
	})
}

const sieveUsage = `usage: sluice sieve check FILE...
       sluice sieve put --config FILE --user ADDRESS [--activate] SCRIPT
       sluice sieve test --config FILE --user ADDRESS [--script FILE] [--from ADDR] [--to ADDR] MESSAGE
put stores SCRIPT under its file name (without .sieve) for the user;
test prints what the user's active script (or --script) would do with
MESSAGE, in the words of Pigeonhole's sieve-test.`

func runSieve(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, sieveUsage)
		return 2
	}
	fs := flag.NewFlagSet("sluice sieve "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("config", "", "config file of the server")
	user := fs.String("user", "", "the user whose scripts to use")
	activate := fs.Bool("activate", false, "put: make the script the active one")
	scriptFile := fs.String("script", "", "test: run this script instead of the user's active one")
	from := fs.String("from", "", "test: envelope sender (default: the message's Return-Path)")
	to := fs.String("to", "", "test: envelope recipient (default: the user)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	switch {
	case args[0] == "check" && len(pos) > 0:
		return sieveCheck(pos, stdout, stderr)
	case args[0] == "put" && len(pos) == 1 && *user != "":
		return sieveRun(stderr, func() error {
			st, err := openScripts(*conf, *user)
			if err != nil {
				return err
			}
			return sievePut(st, *user, pos[0], *activate, stdout)
		})
	case args[0] == "test" && len(pos) == 1 && (*user != "" || *scriptFile != ""):
		return sieveRun(stderr, func() error {
			return sieveTest(*conf, *user, *scriptFile, *from, *to, pos[0], stdout)
		})
	}
	fmt.Fprintln(stderr, sieveUsage)
	return 2
}

func sieveRun(stderr io.Writer, fn func() error) int {
	if err := fn(); err != nil {
		fmt.Fprintln(stderr, "sluice sieve:", err)
		return 1
	}
	return 0
}

// sieveCheck compiles each file and reports FILE:LINE:COL: for faults.
func sieveCheck(files []string, stdout, stderr io.Writer) int {
	rc := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err == nil {
			_, err = sieve.Compile(string(src), sieve.Limits{})
		}
		var se *sieve.Error
		switch {
		case errors.As(err, &se):
			fmt.Fprintf(stderr, "%s:%d:%d: %s\n", f, se.Pos.Line, se.Pos.Col, se.Msg)
			rc = 1
		case err != nil:
			fmt.Fprintf(stderr, "%s: %v\n", f, err)
			rc = 1
		default:
			fmt.Fprintf(stdout, "%s: ok\n", f)
		}
	}
	return rc
}

// openScripts opens the script store of the server configured in conf,
// for an existing user.
func openScripts(conf, user string) (*scripts.Store, error) {
	if conf == "" {
		return nil, errors.New("--config is required")
	}
	cfg, err := config.Load(conf)
	if err != nil {
		return nil, err
	}
	accounts, err := auth.Open(cfg.Data)
	if err != nil {
		return nil, err
	}
	if !accounts.Exists(user) {
		return nil, fmt.Errorf("no user %s", user)
	}
	st, err := store.Open(cfg.Data, store.Options{})
	if err != nil {
		return nil, err
	}
	return scripts.New(st.UserDir, sieve.Limits{}), nil
}

func sievePut(st *scripts.Store, user, file string, activate bool, stdout io.Writer) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(filepath.Base(file), ".sieve")
	if err := st.Put(user, name, string(src)); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if activate {
		if err := st.SetActive(user, name); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "stored %q for %s%s\n", name, auth.Normalize(user), map[bool]string{true: " (active)"}[activate])
	return nil
}

func sieveTest(conf, user, scriptFile, from, to, msgFile string, stdout io.Writer) error {
	var script *sieve.Script
	if scriptFile != "" {
		src, err := os.ReadFile(scriptFile)
		if err != nil {
			return err
		}
		if script, err = sieve.Compile(string(src), sieve.Limits{}); err != nil {
			return fmt.Errorf("%s: %w", scriptFile, err)
		}
	} else {
		st, err := openScripts(conf, user)
		if err != nil {
			return err
		}
		if script, _, err = st.Active(user); err != nil {
			return err
		}
		if script == nil {
			return fmt.Errorf("%s has no active script", user)
		}
	}
	raw, err := os.ReadFile(msgFile)
	if err != nil {
		return err
	}
	msg := sieve.ParseMessage(raw)
	if from == "" {
		from = strings.Trim(strings.TrimSpace(msg.Header.Get("Return-Path")), "<>")
	}
	if to == "" {
		to = auth.Normalize(user)
	}
	res, err := script.Execute(sieve.Env{Envelope: sieve.Envelope{From: from, To: to}, Msg: msg})
	fmt.Fprint(stdout, res.Print())
	return err
}
