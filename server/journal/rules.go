package journal

import (
	"sort"

	"github.com/sluicemail/sluice/engine"
)

// RulesOf turns the rules that fired in a verdict of p into record
// entries: each with the file and line of its `- name:` entry, its
// condition and the facts the condition reads.
func RulesOf(p *engine.Pipeline, fired []engine.Fired) []Rule {
	out := make([]Rule, 0, len(fired))
	for _, f := range fired {
		jr := Rule{Name: f.Name, Score: f.Score, Action: f.Action}
		if r := ruleNamed(p, f.Name); r != nil {
			jr.File, jr.Line = r.Pos.File, r.Pos.Line
			if r.When != nil {
				jr.When = r.When.Program.Source().String()
				jr.Reads = sortedKeys(r.When.Refs.Fields)
			}
		}
		out = append(out, jr)
	}
	return out
}

func ruleNamed(p *engine.Pipeline, name string) *engine.Rule {
	if p == nil {
		return nil
	}
	for _, r := range p.Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
