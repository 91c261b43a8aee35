package sieve

// cmdSpec describes a command: the extension it needs, its arguments,
// whether it takes a block and how many tests, and how to build it.
type cmdSpec struct {
	ext   string
	args  argSpec
	block bool
	tests int
	build func(c *compiler, b *bound) (command, error)
}

// testSpec describes a test; tests is 0, 1, or -1 for a test list.
type testSpec struct {
	ext   string
	args  argSpec
	tests int
	build func(c *compiler, b *bound) (test, error)
}

// The tables are filled by init functions, one file per extension, so
// that a command's syntax and meaning sit together.
var (
	commands = map[string]cmdSpec{}
	tests    = map[string]testSpec{}
)
