package dovecottest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Dovecot is Dovecot's master binary.
const Dovecot = "/usr/sbin/dovecot"

// StartServer runs a whole Dovecot (master, auth, imap-login, imap) on a
// loopback port with a throw-away configuration: users and password
// hashes from the passwd-file, mail in root laid out ROOT/DOMAIN/USER,
// and special-use folders "Sent Messages" (\Sent), "Spam" (\Junk),
// Drafts and Trash. It returns the IMAP address; the server stops with
// the test. settings are more lines of dovecot.conf, e.g.
// "imap_fetch_failure = no-after" to have a message Dovecot cannot read
// answered NO instead of a disconnect.
func StartServer(t testing.TB, root, passwd string, settings ...string) string {
	t.Helper()
	Need(t)
	if _, err := os.Stat(Dovecot); err != nil {
		t.Fatalf("%s: %v", Dovecot, err)
	}
	run := t.TempDir()
	os.Chmod(run, 0o755)
	pw := filepath.Join(run, "passwd")
	data, err := os.ReadFile(passwd)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pw, data, 0o644)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	uid, gid := owner()
	conf := filepath.Join(run, "dovecot.conf")
	// base_dir gets a dovecot.conf symlink of its own: keep it apart.
	base := filepath.Join(run, "base")
	os.Mkdir(base, 0o755)
	os.WriteFile(conf, []byte(fmt.Sprintf(serverConf, base, base, run, root, pw, uid, gid, root, port)+strings.Join(settings, "\n")+"\n"), 0o644)
	cmd := exec.Command(Dovecot, "-F", "-c", conf)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(run, "dovecot.log"))
			t.Logf("dovecot output:\n%s\n%s", out.String(), log)
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			buf := make([]byte, 256)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.Contains(string(buf[:n]), "Dovecot") {
				return addr
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(run, "dovecot.log"))
			t.Fatalf("dovecot did not start on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const serverConf = `base_dir = %s
state_dir = %s
log_path = %s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = nobody
default_internal_user = nobody
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:%s/%%d/%%n
passdb {
  driver = passwd-file
  args = scheme=CRYPT username_format=%%u %s
}
userdb {
  driver = static
  args = uid=%d gid=%d home=%s/%%d/%%n
}
namespace inbox {
  inbox = yes
  separator = .
  mailbox "Sent Messages" {
    special_use = \Sent
  }
  mailbox Spam {
    special_use = \Junk
  }
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Trash {
    special_use = \Trash
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %s
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
`
