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
	// `sluice replay` and refused mail (default 10MB).
	KeepBodies Size `yaml:"keep_bodies"`
}
