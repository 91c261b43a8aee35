package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func collect(t *testing.T, paths ...string) []Item {
	t.Helper()
	var items []Item
	if err := Walk(paths, func(it Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	return items
}

func TestMaildir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "new", "1.host"), "Subject: new\r\n\r\nx\r\n")
	write(t, filepath.Join(dir, "cur", "2.host:2,FS"), "Subject: seen\r\n\r\nx\r\n")
	write(t, filepath.Join(dir, ".Junk", "cur", "3.host:2,S"), "Subject: junk\r\n\r\nx\r\n")
	if err := os.MkdirAll(filepath.Join(dir, ".Junk", "new"), 0o755); err != nil {
		t.Fatal(err)
	}
	items := collect(t, dir)
	if len(items) != 3 {
		t.Fatalf("%d items", len(items))
	}
	if items[0].Flags != "" || items[1].Flags != "FS" || items[2].Folder != "Junk" || items[2].Flags != "S" {
		t.Errorf("items %+v", items)
	}
}

func TestMbox(t *testing.T) {
	p := filepath.Join(t.TempDir(), "box")
	write(t, p, "From a@b Mon Nov 16 10:00:00 2026\nSubject: one\n\nline\n>From quoted\n\nFrom c@d Tue Nov 17 10:00:00 2026\nSubject: two\n\nbody\n")
	items := collect(t, p)
	if len(items) != 2 {
		t.Fatalf("%d items", len(items))
	}
	if !strings.Contains(string(items[0].Raw), "\nFrom quoted") || !strings.HasPrefix(string(items[1].Raw), "Subject: two") {
		t.Errorf("raw %q / %q", items[0].Raw, items[1].Raw)
	}
	if items[0].Path != p+"#1" || items[1].Date.Day() != 17 {
		t.Errorf("path %q date %v", items[0].Path, items[1].Date)
	}
}

func TestDirectoryAndErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.eml"), "Subject: a\r\n\r\n")
	write(t, filepath.Join(dir, "sub", "b.eml"), "Subject: b\r\n\r\n")
	write(t, filepath.Join(dir, "empty.eml"), "")
	items := collect(t, dir, filepath.Join(dir, "missing.eml"))
	var ok, bad int
	for _, it := range items {
		if it.Err != nil {
			bad++
		} else {
			ok++
		}
	}
	if ok != 2 || bad != 2 {
		t.Fatalf("ok %d bad %d: %+v", ok, bad, items)
	}
	if Count([]string{dir}) != 3 {
		t.Errorf("count %d", Count([]string{dir}))
	}
}
