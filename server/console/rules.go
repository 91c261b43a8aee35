package console

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// ruleFile is one file of the rule directory, shown read-only.
type ruleFile struct {
	Path string
	Text string
}

type rulesData struct {
	Dir       string
	LastError string
	Files     []ruleFile
	Tests     []ruleTest
	Failed    int
}

// ruleTest is the outcome of one rule test of the loaded rules.
type ruleTest struct {
	Name     string   `json:"name"`
	Where    string   `json:"where"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

// maxRuleFileBytes bounds what the page shows of one file.
const maxRuleFileBytes = 256 << 10

func (c *Console) rules(w http.ResponseWriter, r *http.Request, sess *session) {
	d := rulesData{Dir: c.opts.RulesDir(), LastError: c.opts.RulesError()}
	filepath.WalkDir(d.Dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".yaml" && ext != ".yml" && ext != ".txt" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		if len(b) > maxRuleFileBytes {
			b = append(b[:maxRuleFileBytes], "\n[...]"...)
		}
		rel, _ := filepath.Rel(d.Dir, path)
		d.Files = append(d.Files, ruleFile{Path: rel, Text: string(b)})
		return nil
	})
	if c.opts.RuleTests != nil {
		for _, res := range c.opts.RuleTests(r.Context()) {
			rel, _ := filepath.Rel(d.Dir, res.Case.File)
			t := ruleTest{Name: res.Case.Name, Where: fmt.Sprintf("%s:%d", rel, res.Case.Line), Passed: res.Passed(), Failures: res.Failures}
			if !t.Passed {
				d.Failed++
			}
			d.Tests = append(d.Tests, t)
		}
	}
	if wantsJSON(r) {
		writeJSON(w, d)
		return
	}
	for i := range d.Files {
		d.Files[i].Text = strings.TrimRight(d.Files[i].Text, "\n")
	}
	c.render(w, sess, "rules", "Rules", d)
}
