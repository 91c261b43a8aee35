package migrate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The IMAP import remembers, in the user's directory, what it copied:
// a checkpoint (UIDVALIDITY and the last UID copied, per source folder)
// so that a re-run fetches only newer messages, and a key log (one line
// per message copied: mailbox and de-dup key) so that nothing is copied
// twice even when the checkpoint is lost or the source renumbers.

// CheckpointFile and KeyLogFile are the import's files in the user's
// Maildir.
const (
	CheckpointFile = "sluice-imap-checkpoint.json"
	KeyLogFile     = "sluice-imap-keys"
)

// folderMark is where the copy of one source folder stands.
type folderMark struct {
	Validity uint32 `json:"uidvalidity"`
	LastUID  uint32 `json:"last_uid"`
}

// checkpoint is the state of every source, by source URL then folder.
type checkpoint struct {
	path string
	mu   sync.Mutex
	Src  map[string]map[string]folderMark `json:"sources"`

	keys    map[string]bool // mailbox + "\x00" + key
	keyFile *os.File
}

func openCheckpoint(userDir string) (*checkpoint, error) {
	cp := &checkpoint{path: filepath.Join(userDir, CheckpointFile), Src: map[string]map[string]folderMark{}, keys: map[string]bool{}}
	if data, err := os.ReadFile(cp.path); err == nil {
		if err := json.Unmarshal(data, cp); err != nil {
			return nil, fmt.Errorf("%s: %w (remove it to start over; the key log still prevents duplicates)", cp.path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	kp := filepath.Join(userDir, KeyLogFile)
	if f, err := os.Open(kp); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			if mb, key, ok := strings.Cut(sc.Text(), "\t"); ok {
				cp.keys[mb+"\x00"+key] = true
			}
		}
		f.Close()
	}
	f, err := os.OpenFile(kp, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	cp.keyFile = f
	return cp, nil
}

func (cp *checkpoint) mark(src, folder string) folderMark {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.Src[src][folder]
}

func (cp *checkpoint) has(mailbox, key string) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.keys[mailbox+"\x00"+key]
}

// copied records one message copied: its key first (so a crash between
// the two never copies it again), then the folder's new mark.
func (cp *checkpoint) copied(src, folder, mailbox, key string, m folderMark) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if !cp.keys[mailbox+"\x00"+key] {
		if _, err := fmt.Fprintf(cp.keyFile, "%s\t%s\n", mailbox, key); err != nil {
			return err
		}
		if err := cp.keyFile.Sync(); err != nil {
			return err
		}
		cp.keys[mailbox+"\x00"+key] = true
	}
	return cp.setLocked(src, folder, m)
}

func (cp *checkpoint) set(src, folder string, m folderMark) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.setLocked(src, folder, m)
}

func (cp *checkpoint) setLocked(src, folder string, m folderMark) error {
	if cp.Src[src] == nil {
		cp.Src[src] = map[string]folderMark{}
	}
	if cp.Src[src][folder] == m {
		return nil
	}
	cp.Src[src][folder] = m
	data, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	tmp := cp.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, cp.path)
}

func (cp *checkpoint) close() error { return cp.keyFile.Close() }
