package store

// Append and Transfer put files into a mailbox and then index them with
// adopt, which returns their UIDs (APPENDUID, COPYUID). Until adopt runs,
// no other sync may index them: another session's poll used to pick an
// appended file up first (from the store's poke, or a full rescan), and
// its EXPUNGE could then remove a message appended with \Deleted before
// adopt ran, which failed the APPEND with NO [SERVERBUG] ("message not
// indexed"; imaptest's stress mode, issue 16). A file awaiting adoption
// stays out of the index, and out of every session's view, until the
// command that put it there indexes it.

// awaitAdoption marks base as put into the mailbox by a command that
// will adopt it. Call it before the file appears.
func (m *Mailbox) awaitAdoption(base string) {
	m.pendMu.Lock()
	if m.awaited == nil {
		m.awaited = map[string]bool{}
	}
	m.awaited[base] = true
	m.pendMu.Unlock()
}

// releaseAdoption lets any sync index the files of bases again: adopt
// calls it under the mailbox's lock before it indexes them itself, and a
// command that failed to put a file calls it to forget the base.
func (m *Mailbox) releaseAdoption(bases ...string) {
	m.pendMu.Lock()
	for _, b := range bases {
		delete(m.awaited, b)
	}
	m.pendMu.Unlock()
}

// skipAwaited removes from a sync's list of files those awaiting
// adoption, and says whether there were any: then the next full sync must
// list the directory again rather than trust that nothing changed, in
// case the command that put the file fails before adopting it.
func (m *Mailbox) skipAwaited(disk map[string]diskFile) (skipped bool) {
	m.pendMu.Lock()
	defer m.pendMu.Unlock()
	if len(m.awaited) == 0 {
		return false
	}
	for base := range disk {
		if m.awaited[base] {
			delete(disk, base)
			skipped = true
		}
	}
	return skipped
}
