package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const passwordsFixture = "# old login      sluice address       password\n" +
	"alice@example.org alice@example.org   pw-alice\n" +
	"\n" +
	"  bob\tbob@example.org\tcorrect horse # battery\r\n" +
	"carol carol@example.org\n" +
	"dave dave\tsecret\n" +
	"alice@example.org other@example.org x\n" +
	"erin\n" +
	"frank frank@example.org \xff\n"

func TestParseIMAPUsers(t *testing.T) {
	users, bad := ParseIMAPUsers([]byte(passwordsFixture))
	want := []IMAPUser{
		{Line: 2, Source: "alice@example.org", User: "alice@example.org", Password: "pw-alice"},
		{Line: 4, Source: "bob", User: "bob@example.org", Password: "correct horse # battery"},
	}
	if len(users) != len(want) {
		t.Fatalf("users = %+v, want %+v", users, want)
	}
	for i := range want {
		if users[i] != want[i] {
			t.Errorf("user %d = %+v, want %+v", i, users[i], want[i])
		}
	}
	wantBad := []string{
		"line 5: carol: no password",
		`line 6: dave: the sluice address "dave" is not user@domain`,
		"line 7: alice@example.org is named again (first on line 2)",
		"line 8: want SOURCE-USER SLUICE-ADDRESS PASSWORD",
		"line 9: not UTF-8",
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("errors = %v, want %v", bad, wantBad)
	}
	for i, w := range wantBad {
		if bad[i].Error() != w {
			t.Errorf("error %d = %q, want %q", i, bad[i], w)
		}
	}
}

// TestReadIMAPUsersRefusesOpenFile: a passwords file that group or
// others can read is refused, as ssh refuses such a private key.
func TestReadIMAPUsersRefusesOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwords")
	os.WriteFile(path, []byte("bob bob@example.org pw\n"), 0o600)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		os.Chmod(path, mode)
		_, _, err := ReadIMAPUsers(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: err = %v, want a refusal naming chmod 600", mode, err)
		}
	}
	os.Chmod(path, 0o600)
	users, bad, err := ReadIMAPUsers(path)
	if err != nil || len(bad) != 0 || len(users) != 1 || users[0].Password != "pw" {
		t.Errorf("mode 0600: %+v %v %v", users, bad, err)
	}
	if _, _, err := ReadIMAPUsers(filepath.Dir(path)); err == nil {
		t.Error("a directory was read as a passwords file")
	}
	if _, _, err := ReadIMAPUsers(path + ".missing"); err == nil {
		t.Error("a missing file gave no error")
	}
}

func FuzzParseIMAPUsers(f *testing.F) {
	f.Add([]byte(passwordsFixture))
	f.Add([]byte("a b@c d\n#x\n\ta\tb@c\t \t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, bad := ParseIMAPUsers(data)
		seen := map[string]bool{}
		for _, u := range users {
			if u.Source == "" || u.Password == "" || !strings.Contains(u.User, "@") || seen[u.Source] {
				t.Fatalf("accepted a bad line: %+v", u)
			}
			if strings.ContainsAny(u.Source+u.User, " \t\n") || strings.ContainsAny(u.Password, "\n\r\x00") {
				t.Fatalf("a field holds a separator: %+v", u)
			}
			seen[u.Source] = true
		}
		if lines := strings.Count(string(data), "\n") + 1; len(users)+len(bad) > lines {
			t.Fatalf("%d users and %d errors from %d lines", len(users), len(bad), lines)
		}
	})
}
