package store

import (
	"os"
	"syscall"
)

// renameMessage renames a message file within its mailbox: a flag change
// in cur/, or new/ to cur/ when a session first sees it. os.Rename first
// Lstats the new name to refuse replacing a directory; here the new name
// is a message file name sluice made, so that check only costs a system
// call per message: about a third of a STORE over 10,000 messages
// (bench/imap -cpuprofile). The error is the *os.LinkError os.Rename
// gives, so errors.Is(err, os.ErrNotExist) still tells a file removed
// from outside.
func renameMessage(from, to string) error {
	if err := syscall.Rename(from, to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
