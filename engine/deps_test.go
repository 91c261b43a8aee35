package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyGraph keeps the layers pointing down (DESIGN.md: cmd wires,
// server serves, stages check; engine and rules know nothing of either): a
// lower package that needs an upper one declares an interface and is
// handed an implementation at start.
func TestDependencyGraph(t *testing.T) {
	const mod = "github.com/sluicemail/sluice/"
	cases := []struct {
		pkgs      []string
		forbidden []string
	}{
		{[]string{mod + "engine/..."}, []string{mod + "stages", mod + "server", mod + "rules", mod + "cmd"}},
		{[]string{mod + "rules"}, []string{mod + "server", mod + "cmd"}},
		{[]string{mod + "stages/..."}, []string{mod + "server", mod + "cmd"}},
		{[]string{mod + "server/imap", mod + "server/store"}, []string{mod + "stages"}},
	}
	for _, c := range cases {
		args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, c.pkgs...)
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %v: %v\n%s", c.pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range c.forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%v imports %s", c.pkgs, dep)
				}
			}
		}
	}
}
