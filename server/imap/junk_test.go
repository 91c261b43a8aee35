package imap

import (
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/store"
	"github.com/sluicemail/sluice/stages/bayes"
)

// TestJunkMovesTrainBayes: MOVE into Junk teaches the real Bayes model
// spam, MOVE back out teaches ham instead (each message counted once),
// and deleting spam (Junk to Trash) teaches nothing.
func TestJunkMovesTrainBayes(t *testing.T) {
	modelPath := filepath.Join(t.TempDir(), "bayes.model")
	model, err := bayes.OpenModel(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Options{}, store.Options{Trainer: bayes.Trainer{Model: model}})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	c := ts.login(t, user, nil)
	stats := func(want string, spam, ham int) {
		t.Helper()
		// Read the saved file, as the SMTP stage of another process would.
		fresh, err := bayes.OpenFileStore(modelPath)
		if err != nil {
			t.Fatal(err)
		}
		st, err := fresh.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Spam != spam || st.Ham != ham {
			t.Fatalf("%s: model has %d spam, %d ham; want %d, %d", want, st.Spam, st.Ham, spam, ham)
		}
	}
	move := func(from string, uid imap.UID, to string) {
		t.Helper()
		if _, err := c.Select(from, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Move(imap.UIDSetNum(uid), to).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	move("INBOX", 1, "Junk")
	move("INBOX", 2, "Junk")
	stats("two moved into Junk", 2, 0)
	if _, err := c.Select("Junk", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(imap.UIDSetNum(1), "Junk").Wait(); err != nil { // a copy: the same message
		t.Fatal(err)
	}
	stats("copied again within Junk", 2, 0)
	move("Junk", 1, "INBOX")
	stats("one moved back out", 1, 1)
	move("Junk", 2, "Trash")
	stats("spam deleted", 1, 1)
	move("INBOX", 4, "Junk") // the message moved back out, now in again
	stats("moved back in", 2, 0)
}
