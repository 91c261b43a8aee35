package bayes

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
)

func counts(t *testing.T, s Store, toks ...string) (spam, ham []float64, nspam, nham int) {
	t.Helper()
	spam, ham = make([]float64, len(toks)), make([]float64, len(toks))
	nspam, nham, err := s.Counts(toks, spam, ham)
	if err != nil {
		t.Fatal(err)
	}
	return spam, ham, nspam, nham
}

func TestDigestIgnoresLineEndsAndFromLine(t *testing.T) {
	lf := []byte("Subject: a\n\nbody\n")
	crlf := []byte("Subject: a\r\n\r\nbody\r\n")
	mbox := append([]byte("From x@y  Thu Aug 22 13:17:22 2002\n"), lf...)
	if DigestOf(lf) != DigestOf(crlf) || DigestOf(lf) != DigestOf(mbox) {
		t.Error("the same message with CRLF, LF or a From_ line must have one digest")
	}
	if DigestOf(lf) == DigestOf([]byte("Subject: a\n\nbody!\n")) {
		t.Error("different messages share a digest")
	}
}

func TestLearnTwiceCountsOnce(t *testing.T) {
	m := NewModel(NewMemoryStore())
	raw := synthMessage(true, 1)
	for i, want := range []bool{true, false} {
		learnt, err := m.Learn(raw, Spam)
		if err != nil || learnt != want {
			t.Fatalf("learn #%d: learnt %v, %v; want %v", i+1, learnt, err, want)
		}
	}
	// The same message with CRLF turned into LF is the same message.
	if learnt, _ := m.Learn(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), Spam); learnt {
		t.Error("the LF form of a learnt message was learnt again")
	}
	spam, ham, nspam, nham := counts(t, m.Store(), "subject:amazing")
	if nspam != 1 || nham != 0 || spam[0] != 1 || ham[0] != 0 {
		t.Fatalf("after learning one spam thrice: nspam %d nham %d, token counts %v/%v", nspam, nham, spam, ham)
	}
}

func TestLearnOtherClassMovesAndUnlearn(t *testing.T) {
	m := NewModel(NewMemoryStore())
	raw := synthMessage(true, 7)
	other := synthMessage(true, 8)
	for _, r := range [][]byte{raw, other} {
		if _, err := m.Learn(r, Spam); err != nil {
			t.Fatal(err)
		}
	}
	// A user moves it out of Junk: it becomes ham.
	if moved, _ := m.Learn(raw, Ham); !moved {
		t.Fatal("learning a spam as ham did not move it")
	}
	spam, ham, nspam, nham := counts(t, m.Store(), "subject:amazing")
	if nspam != 1 || nham != 1 || spam[0] != 1 || ham[0] != 1 {
		t.Fatalf("after the move: nspam %d nham %d, token counts %v/%v", nspam, nham, spam, ham)
	}
	if ok, _ := m.Unlearn(raw); !ok {
		t.Fatal("unlearn of a learnt message reported nothing to do")
	}
	if ok, _ := m.Unlearn(raw); ok {
		t.Fatal("a second unlearn changed something")
	}
	spam, ham, nspam, nham = counts(t, m.Store(), "subject:amazing")
	if nspam != 1 || nham != 0 || spam[0] != 1 || ham[0] != 0 {
		t.Fatalf("after unlearning: nspam %d nham %d, token counts %v/%v", nspam, nham, spam, ham)
	}
	if _, err := m.Learn(raw, Class(9)); err == nil {
		t.Error("learning as an unknown class succeeded")
	}
}

func TestSaveAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "bayes.model") // the directory is made on save
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(s)
	if err := train(m, 0, 20); err != nil {
		t.Fatal(err)
	}
	probe := engine.NewMessage(engine.Envelope{}, synthMessage(true, 999))
	before, _ := m.Classify(probe)
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := NewModel(s2).Classify(probe)
	if after.Spam != before.Spam || after.NSpam != 20 || after.NHam != 20 {
		t.Fatalf("reopened model: %+v, before save: %+v", after, before)
	}
	st, _ := s2.Stats()
	if st.Spam != 20 || st.Ham != 20 || st.SpamTokens == 0 || st.HamTokens == 0 || st.Tokenizer != TokenizerVersion {
		t.Fatalf("stats %+v", st)
	}
	// Digests survive too: learning a saved message again changes nothing.
	if learnt, _ := NewModel(s2).Learn(synthMessage(true, 3), Spam); learnt {
		t.Error("a message learnt before the save was learnt again after reopening")
	}
}

func TestCrashDuringSaveKeepsOldModel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bayes.model")
	s, _ := OpenFileStore(path)
	m := NewModel(s)
	if err := train(m, 0, 5); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	if err := train(m, 100, 5); err != nil {
		t.Fatal(err)
	}
	crash := errors.New("power cut")
	var tempSeen bool
	afterTempWrite = func(tmp string) error {
		// The new model is fully written beside the old one; the old one
		// is still what the path holds.
		if fi, err := os.Stat(tmp); err != nil || fi.Size() == 0 {
			t.Errorf("temp file %s: %v", tmp, err)
		}
		st, _, err := readModel(path)
		if err != nil || st.nspam != 5 {
			t.Errorf("mid-save the model file must still be the old one: %v", err)
		}
		tempSeen = true
		return crash
	}
	defer func() { afterTempWrite = nil }()
	if err := m.Save(); !errors.Is(err, crash) {
		t.Fatalf("save with a crash after the temp file: %v", err)
	}
	if !tempSeen {
		t.Fatal("the crash hook did not run")
	}
	// What a killed process leaves: a half-written temp file.
	if err := os.WriteFile(filepath.Join(dir, ".bayes.model.tmp123"), []byte("sluice-bayes 1\n\x00\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenFileStore(path)
	if err != nil {
		t.Fatalf("old model unreadable after the crash: %v", err)
	}
	if st, _ := s2.Stats(); st.Spam != 5 || st.Ham != 5 {
		t.Fatalf("after the crash the model has %+v, want the 5+5 saved before", st)
	}
	// A half-written model file (from a tool that did not write
	// atomically) is refused with a clear error, not half-loaded.
	if err := os.WriteFile(path, []byte("sluice-bayes 1\n\x00\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFileStore(path); err == nil {
		t.Fatal("a truncated model loaded")
	}
}

func TestReloadAndMergeAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bayes.model")
	server, _ := OpenFileStore(path) // the running server
	trainer, _ := OpenFileStore(path)
	server.checkEvery = 0
	serverModel, trainerModel := NewModel(server), NewModel(trainer)

	// The server learns one message from the Junk folder and has not saved.
	if _, err := serverModel.Learn(synthMessage(true, 500), Spam); err != nil {
		t.Fatal(err)
	}
	// Meanwhile `sluice train` learns and saves 10+10.
	if err := train(trainerModel, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := trainerModel.Save(); err != nil {
		t.Fatal(err)
	}
	// The server picks the file up and keeps its own unsaved message.
	if st, _ := server.Stats(); st.Spam != 11 || st.Ham != 10 {
		t.Fatalf("server after reload: %+v, want 11 spam 10 ham", st)
	}
	if err := serverModel.Save(); err != nil {
		t.Fatal(err)
	}
	reread, _ := OpenFileStore(path)
	if st, _ := reread.Stats(); st.Spam != 11 || st.Ham != 10 {
		t.Fatalf("file after both saved: %+v", st)
	}
	// The trainer saves again without changes: it merges the server's
	// message rather than overwrite it.
	if err := trainerModel.Save(); err != nil {
		t.Fatal(err)
	}
	reread, _ = OpenFileStore(path)
	if st, _ := reread.Stats(); st.Spam != 11 {
		t.Fatalf("the trainer's save lost the server's message: %+v", st)
	}
}

func TestOpenModelSharesPerPath(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenModel(filepath.Join(dir, "m.model"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := OpenModel(filepath.Join(dir, ".", "sub", "..", "m.model"))
	c, _ := OpenModel(filepath.Join(dir, "other.model"))
	if a != b {
		t.Error("two names of one file gave two models")
	}
	if a == c {
		t.Error("two files gave one model")
	}
}

func TestBrokenFileOnDiskKeepsModelInMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bayes.model")
	s, _ := OpenFileStore(path)
	s.checkEvery = 0
	m := NewModel(s)
	if err := train(m, 0, 3); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	// Someone copies a broken file over the model.
	if err := os.WriteFile(path+".new", []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(); st.Spam != 3 || st.Ham != 3 {
		t.Fatalf("after a broken file appeared: %+v, want the 3+3 in memory", st)
	}
	// A save puts a good model back, also from a store that has not looked
	// at the file since.
	s.badStamp = fileStamp{}
	if err := m.Save(); err != nil {
		t.Fatalf("save over a broken file: %v", err)
	}
	s2, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s2.Stats(); st.Spam != 3 {
		t.Fatalf("rewritten model: %+v", st)
	}
}

func TestSaveAfterCoalesces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bayes.model")
	s, _ := OpenFileStore(path)
	m := NewModel(s)
	for i := range 20 {
		if _, err := m.Learn(synthMessage(i%2 == 0, i), Class(1+i%2)); err != nil {
			t.Fatal(err)
		}
	}
	// The burst of saves a burst of learns asks for; learning is done
	// first so that a loaded machine cannot stretch the burst past the
	// delay.
	var waits []<-chan struct{}
	for range 20 {
		waits = append(waits, m.SaveAfter(100*time.Millisecond))
	}
	for _, w := range waits {
		<-w
	}
	if waits[0] != waits[19] {
		t.Error("saves scheduled together were not coalesced")
	}
	reread, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := reread.Stats(); st.Spam+st.Ham != 20 {
		t.Fatalf("after the scheduled save the file has %+v", st)
	}
}

// TestEncodedSizeIsFileSize: the size the benchmark reports is the size
// of the file Save writes.
func TestEncodedSizeIsFileSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bayes.model")
	fs, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(fs)
	if err := train(m, 0, 20); err != nil {
		t.Fatal(err)
	}
	n, err := m.EncodedSize()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(n) != fi.Size() || n == 0 {
		t.Errorf("EncodedSize %d, file %d bytes", n, fi.Size())
	}
}
