package config

// Journal sets how much of the verdict journal (always on, under
// DATA/journal) is kept. Zero values take the defaults.
type Journal struct {
	// MaxAge deletes day files older than this (default 30d).
	MaxAge Duration `yaml:"max_age"`
	// MaxSize keeps the journal files and their message copies under this
	// total, deleting the oldest days first (default 1GB).
	MaxSize Size `yaml:"max_size"`
	// KeepBodies is the largest message the journal keeps a copy of, for
	// `sluice replay` and refused mail (default 10MB); 0 keeps none, only
	// each message's header and digest. A pointer, so that 0 is told
	// apart from the key left out.
	KeepBodies *Size `yaml:"keep_bodies"`
}

// BodyLimit is KeepBodies as journal.Options.MaxBody takes it: 0 for the
// journal's default when the key is left out, negative for none.
func (j Journal) BodyLimit() int64 {
	switch {
	case j.KeepBodies == nil:
		return 0
	case *j.KeepBodies <= 0:
		return -1
	}
	return int64(*j.KeepBodies)
}
