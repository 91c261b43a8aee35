package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// dovecotBin is Debian's Dovecot master (package dovecot-imapd).
const dovecotBin = "/usr/sbin/dovecot"

// dovecot is a whole Dovecot (master, auth, imap-login, imap) run with a
// throw-away configuration under dir, never the system service: implicit
// TLS on a loopback port, the bench user from a passwd-file holding the
// same bcrypt hash sluice stores, and mail in a Maildir under dir/mail.
type dovecot struct {
	dir  string
	addr string
	cmd  *exec.Cmd
}

// dovecotOwner is the uid/gid Dovecot runs the mail processes as: as root
// it would refuse uid 0, so the mail belongs to nobody.
func dovecotOwner() (uid, gid int) {
	if os.Getuid() == 0 {
		return 65534, 65534
	}
	return os.Getuid(), os.Getgid()
}

// newDovecot writes the configuration, the passwd-file (user:{BLF-CRYPT}hash)
// and the TLS key pair; start runs it.
func newDovecot(dir, user, bcryptHash string, certPEM, keyPEM []byte) (*dovecot, error) {
	if _, err := os.Stat(dovecotBin); err != nil {
		return nil, fmt.Errorf("%v (apt-get install dovecot-imapd)", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "base"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o755); err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	uid, gid := dovecotOwner()
	files := map[string][]byte{
		"passwd":   []byte(user + ":{BLF-CRYPT}" + bcryptHash + "\n"),
		"cert.pem": certPEM,
		"key.pem":  keyPEM,
		"dovecot.conf": []byte(fmt.Sprintf(dovecotConf, dir, dir, dir, dir, dir,
			filepath.Join(dir, "mail"), dir, uid, gid, filepath.Join(dir, "mail"), port)),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	return &dovecot{dir: dir, addr: addr}, nil
}

// maildir is the bench user's Maildir (INBOX) under the configuration's
// mail_location.
func (d *dovecot) maildir(user string) string {
	local, domain, _ := strings.Cut(user, "@")
	return filepath.Join(d.dir, "mail", domain, local)
}

// start runs Dovecot in the foreground (-F) and waits for its greeting.
func (d *dovecot) start() error {
	d.cmd = exec.Command(dovecotBin, "-F", "-c", filepath.Join(d.dir, "dovecot.conf"))
	d.cmd.Stdout, d.cmd.Stderr = os.Stderr, os.Stderr
	if err := d.cmd.Start(); err != nil {
		return err
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.DialTimeout("tcp", d.addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
			d.stop()
			return fmt.Errorf("dovecot did not start on %s: %v\n%s", d.addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the master (SIGTERM), which stops its children.
func (d *dovecot) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
	d.cmd = nil
}

// chownTree gives the Maildir to the user Dovecot's mail processes run as.
func chownTree(root string) error {
	uid, gid := dovecotOwner()
	if uid == os.Getuid() {
		return nil
	}
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// dovecotCur is the -dovecot-cur flag.
var dovecotCur bool

// writeMaildir puts msgs into a fresh Maildir's new/, each with the
// internal date the sluice copy gets (the file's mtime), unindexed: the
// first SELECT indexes them, as sluice's does.
func writeMaildir(dir string, msgs [][]byte, date func(i int) time.Time) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	for i, m := range msgs {
		// In new/, as Dovecot's LDA or LMTP delivers and as sluice's copy
		// is: the first SELECT of either server moves them to cur/.
		// -dovecot-cur writes them into cur/ as if Dovecot had seen them
		// (the bench did so before: Dovecot then had 10,000 renames
		// fewer to make than sluice).
		p := filepath.Join(dir, "new", strconv.Itoa(1000000000+i)+".M"+strconv.Itoa(i)+".bench,S="+strconv.Itoa(len(m)))
		if dovecotCur {
			p = filepath.Join(dir, "cur", strconv.Itoa(1000000000+i)+".M"+strconv.Itoa(i)+".bench,S="+strconv.Itoa(len(m))+":2,")
		}
		if err := os.WriteFile(p, m, 0o644); err != nil {
			return err
		}
		t := date(i)
		if err := os.Chtimes(p, t, t); err != nil {
			return err
		}
	}
	return chownTree(filepath.Dir(dir))
}

// dovecotConf: Debian's defaults except what a throw-away instance needs
// (paths, a loopback imaps listener, the passwd-file) and a connection
// limit that lets imaptest's 10 clients in beside the driver.
const dovecotConf = `base_dir = %s/base
state_dir = %s/state
log_path = %s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <%s/cert.pem
ssl_key = <%s/key.pem
auth_mechanisms = plain login
default_login_user = nobody
default_internal_user = nobody
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:%s/%%d/%%n
mail_max_userip_connections = 100
passdb {
  driver = passwd-file
  args = username_format=%%u %s/passwd
}
userdb {
  driver = static
  args = uid=%d gid=%d home=%s/%%d/%%n
}
namespace inbox {
  inbox = yes
  separator = .
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %s
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
`
