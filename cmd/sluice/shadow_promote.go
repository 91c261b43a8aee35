package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/config"
)

// promoteFiles backs the live rule directory up under the data directory
// and copies every file of the shadow directory into it (each written to
// a temporary name and renamed, so the watcher never reads half a file);
// live rule files the shadow set does not have are removed, so that the
// live directory then holds the shadow set exactly. It returns the
// backup's path.
func promoteFiles(shadowDir, liveDir, data string) (string, error) {
	backup := filepath.Join(data, "rules-backup", time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(filepath.Dir(backup), 0o700); err != nil {
		return "", err
	}
	if err := os.CopyFS(backup, os.DirFS(liveDir)); err != nil {
		return "", fmt.Errorf("backing up %s: %w", liveDir, err)
	}
	err := filepath.WalkDir(shadowDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(shadowDir, path)
		return copyAtomic(path, filepath.Join(liveDir, rel))
	})
	if err != nil {
		return backup, err
	}
	ents, err := os.ReadDir(liveDir)
	if err != nil {
		return backup, err
	}
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		if _, err := os.Stat(filepath.Join(shadowDir, n)); errors.Is(err, fs.ErrNotExist) {
			if err := os.Remove(filepath.Join(liveDir, n)); err != nil {
				return backup, err
			}
		}
	}
	return backup, nil
}

func copyAtomic(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".promote")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// reloadAfterPromote asks a running server to reload, as `sluice reload`
// does; with no server running the rules apply at the next start.
func reloadAfterPromote(cfg *config.Config, stdout, stderr io.Writer) int {
	if cfg.Listen.Admin != "" {
		if done, err := reloadHTTP(cfg); done {
			if err != nil {
				fmt.Fprintln(stderr, "sluice shadow promote: the server refused the new rules and keeps the old ones:", err)
				return 1
			}
			fmt.Fprintln(stdout, "rules reloaded")
			return 0
		}
	}
	if err := reloadSignal(cfg.Data); err != nil {
		fmt.Fprintln(stdout, "no running server answered; the rules apply at its next start")
		return 0
	}
	fmt.Fprintln(stdout, "sent SIGHUP; the server log tells whether the new rules were taken")
	return 0
}
