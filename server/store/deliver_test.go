package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sluicemail/sluice/engine/source"
)

func openTest(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	data := t.TempDir()
	s, err := Open(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, data
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

var uniqueName = regexp.MustCompile(`^\d+\.M\d+P\d+Q\d+\.testhost,S=(\d+)(:2,[A-Za-z]*)?$`)

func TestDeliverLayout(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	raw := []byte("From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n")
	date := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.Deliver("Alice@Example.org", "INBOX", raw, "", date); err != nil {
		t.Fatal(err)
	}
	user := filepath.Join(data, "mail", "example.org", "alice")
	for _, m := range []string{"", ".Sent", ".Drafts", ".Junk", ".Trash", ".Archive"} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if st, err := os.Stat(filepath.Join(user, m, sub)); err != nil || !st.IsDir() {
				t.Errorf("missing %s/%s: %v", m, sub, err)
			}
		}
		if m != "" {
			if _, err := os.Stat(filepath.Join(user, m, "maildirfolder")); err != nil {
				t.Errorf("%s: no maildirfolder file", m)
			}
		}
	}
	newFiles := files(t, filepath.Join(user, "new"))
	if len(newFiles) != 1 || !uniqueName.MatchString(newFiles[0]) {
		t.Fatalf("new/ = %q", newFiles)
	}
	if m := uniqueName.FindStringSubmatch(newFiles[0]); m[1] != fmt.Sprint(len(raw)) || m[2] != "" {
		t.Errorf("name %q: size %s info %q", newFiles[0], m[1], m[2])
	}
	p := filepath.Join(user, "new", newFiles[0])
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, raw) {
		t.Errorf("content %q", got)
	}
	if st, _ := os.Stat(p); !st.ModTime().Equal(date) {
		t.Errorf("mtime %v, want %v", st.ModTime(), date)
	}
	if len(files(t, filepath.Join(user, "tmp"))) != 0 {
		t.Error("tmp/ not empty")
	}

	if err := s.Deliver("alice@example.org", "Junk", raw, "SF", time.Time{}); err != nil {
		t.Fatal(err)
	}
	cur := files(t, filepath.Join(user, ".Junk", "cur"))
	if len(cur) != 1 || !uniqueName.MatchString(cur[0]) || cur[0][len(cur[0])-5:] != ":2,FS" {
		t.Fatalf("Junk cur/ = %q", cur)
	}

	if err := s.Deliver("alice@example.org", "Lists.Go", raw, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(files(t, filepath.Join(user, ".Lists.Go", "new"))) != 1 {
		t.Error("new mailbox Lists.Go not created")
	}

	// The layout is what Maildir readers expect: engine/source reads it
	// with folders and flags.
	seen := map[string]string{}
	err := source.Walk([]string{user}, func(it source.Item) error {
		if it.Err != nil {
			return it.Err
		}
		seen[it.Folder] = it.Flags
		return nil
	})
	if err != nil || len(seen) != 3 || seen["Junk"] != "FS" || seen[""] != "" || seen["Lists.Go"] != "" {
		t.Errorf("source.Walk saw %v, %v", seen, err)
	}
}

func TestDeliverRefusesBadNames(t *testing.T) {
	s, data := openTest(t, Options{})
	raw := []byte("Subject: x\r\n\r\nx\r\n")
	for _, c := range []struct{ user, mailbox string }{
		{"../../etc@example.org", "INBOX"},
		{"alice@example.org/../../x", "INBOX"},
		{"alice@example.org", "../bob"},
		{"alice@example.org", "../../../bob@example.org"},
		{"alice@example.org", "/tmp/x"},
		{"alice@example.org", "a/../../b"},
		{"alice", "INBOX"},
	} {
		err := s.Deliver(c.user, c.mailbox, raw, "", time.Time{})
		if err == nil || !IsPermanent(err) {
			t.Errorf("Deliver(%q, %q) = %v, want a permanent error", c.user, c.mailbox, err)
		}
	}
	// Nothing was written anywhere.
	var count int
	filepath.Walk(data, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			count++
		}
		return nil
	})
	if count != 0 {
		t.Errorf("%d files written for refused deliveries", count)
	}
}

func TestDeliverParallel(t *testing.T) {
	s, data := openTest(t, Options{})
	const workers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				user := fmt.Sprintf("u%d@example.org", w%3)
				raw := []byte(fmt.Sprintf("Subject: %d-%d\r\n\r\nbody\r\n", w, i))
				errs <- s.Deliver(user, "INBOX", raw, "", time.Time{})
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for u := 0; u < 3; u++ {
		total += len(files(t, filepath.Join(data, "mail", "example.org", fmt.Sprintf("u%d", u), "new")))
	}
	if total != workers*each {
		t.Errorf("%d messages stored, want %d", total, workers*each)
	}
}

func TestDeliverDiskErrorIsTemporary(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores permissions; simulate with a file where a directory
		// must be.
		s, data := openTest(t, Options{})
		if err := os.MkdirAll(filepath.Join(data, "mail", "example.org"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "mail", "example.org", "carol"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := s.Deliver("carol@example.org", "INBOX", []byte("x\r\n"), "", time.Time{})
		if err == nil || IsPermanent(err) {
			t.Fatalf("Deliver = %v, want a temporary error", err)
		}
		return
	}
	s, data := openTest(t, Options{})
	if err := s.EnsureUser("carol@example.org"); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(data, "mail", "example.org", "carol", "tmp")
	os.Chmod(tmp, 0o500)
	defer os.Chmod(tmp, 0o700)
	err := s.Deliver("carol@example.org", "INBOX", []byte("x\r\n"), "", time.Time{})
	if err == nil || IsPermanent(err) {
		t.Fatalf("Deliver = %v, want a temporary error", err)
	}
}

func TestQuota(t *testing.T) {
	s, _ := openTest(t, Options{Quota: func(user string) int64 {
		if user == "small@example.org" {
			return 100
		}
		return 0
	}})
	raw := bytes.Repeat([]byte("x"), 40)
	for i := 0; i < 2; i++ {
		if err := s.CheckQuota("small@example.org", int64(len(raw))); err != nil {
			t.Fatalf("message %d refused: %v", i, err)
		}
		if err := s.Deliver("small@example.org", "INBOX", raw, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Usage("small@example.org"); err != nil || n != 80 {
		t.Fatalf("Usage = %d, %v; want 80", n, err)
	}
	var qe *QuotaError
	if err := s.CheckQuota("small@example.org", 40); !errors.As(err, &qe) || qe.Permanent {
		t.Errorf("CheckQuota over soft = %v, want temporary QuotaError", err)
	}
	if err := s.CheckQuota("small@example.org", 101); !errors.As(err, &qe) || !qe.Permanent {
		t.Errorf("CheckQuota bigger than limit = %v, want permanent QuotaError", err)
	}
	if err := s.CheckQuota("big@example.org", 1<<40); err != nil {
		t.Errorf("unlimited user refused: %v", err)
	}
	// A fresh Store counts usage from the Maildir alone.
	s2, err := Open(filepath.Dir(s.Root()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s2.Usage("small@example.org"); err != nil || n != 80 {
		t.Errorf("Usage from disk = %d, %v; want 80", n, err)
	}
}

func TestMetrics(t *testing.T) {
	s, _ := openTest(t, Options{Quota: func(string) int64 { return 1000 }})
	s.Deliver("a@example.org", "INBOX", make([]byte, 100), "", time.Time{})
	s.Deliver("b@example.net", "Junk", make([]byte, 30), "", time.Time{})
	want := `
# HELP sluice_mailbox_quota_bytes Storage limit of a user (0: none).
# TYPE sluice_mailbox_quota_bytes gauge
sluice_mailbox_quota_bytes{user="a@example.org"} 1000
sluice_mailbox_quota_bytes{user="b@example.net"} 1000
# HELP sluice_mailbox_usage_bytes Bytes stored in all mailboxes of a user.
# TYPE sluice_mailbox_usage_bytes gauge
sluice_mailbox_usage_bytes{user="a@example.org"} 100
sluice_mailbox_usage_bytes{user="b@example.net"} 30
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
