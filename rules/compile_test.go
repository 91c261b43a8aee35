package rules

import (
	"strings"
	"testing"
)

// TestCompileErrors checks that mistakes are reported at load with the
// file, the rule, and the line and column of the mistake.
func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, rules string
		line, col   int
		rule, msg   string
	}{
		{"misspelt field", `pipeline: inbound
rules:
  - name: typo
    when: msg.subjet == "x"
    score: 1
`, 4, 15, "typo", "has no field subjet"},
		{"type mismatch", `pipeline: inbound
rules:
  - name: size
    when: msg.size == "big"
    score: 1
`, 4, 20, "size", "mismatched types int and string"},
		{"bad regex", `pipeline: inbound
rules:
  - name: shouting
    when: msg.subject matches "^[A-Z"
    score: 1
`, 4, 23, "shouting", "missing closing ]"},
		{"reply code class", `pipeline: inbound
rules:
  - name: wrong-code
    when: conn.tls
    action: reject 450 5.7.1 "no"
`, 5, 20, "wrong-code", "reject needs a 5xx code, got 450"},
		{"enhanced code class", `pipeline: inbound
rules:
  - name: wrong-enhanced
    when: conn.tls
    action: tempfail 451 5.7.1 "no"
`, 5, 26, "wrong-enhanced", "needs a 4.x.x enhanced code"},
		{"unknown list", `pipeline: inbound
lists:
  vip: [a@example.org]
rules:
  - name: list
    when: in_list("vips", envelope.mail_from)
    action: accept
`, 6, 11, "list", `no list named "vips"`},
		{"bad interpolation", `pipeline: inbound
rules:
  - name: interp
    when: conn.tls
    action: reject 550 5.7.1 "Listed at {{ dnsbl.hitz[0].zone }}"
`, 5, 50, "interp", "has no field hitz"},
		{"bad cidr", `pipeline: inbound
rules:
  - name: net
    when: cidr(conn.ip, "10.0.0/8")
    score: 1
`, 4, 11, "net", "is not a network"},
		{"not bool", `pipeline: inbound
rules:
  - name: notbool
    when: msg.size
    score: 1
`, 4, 11, "notbool", "expected bool"},
		{"unknown action", `pipeline: inbound
rules:
  - name: act
    when: conn.tls
    action: bounce
`, 5, 13, "act", "unknown action"},
		{"rule does nothing", `pipeline: inbound
rules:
  - name: idle
    when: conn.tls
`, 3, 5, "idle", "rule does nothing"},
		{"learn what", `pipeline: inbound
rules:
  - name: teach
    when: conn.tls
    learn: maybe
`, 5, 12, "teach", `learn must be "spam" or "ham", not "maybe"`},
		{"learn with no learner", `pipeline: inbound
rules:
  - name: teach
    when: conn.tls
    learn: spam
`, 3, 5, "teach", "the bayes stage does not autolearn here"},
		{"multi-line when", `pipeline: inbound
rules:
  - name: block
    when: |
      conn.tls and
      msg.sise > 10
    score: 1
`, 6, 11, "block", "has no field sise"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := loadErrors(t, c.rules)
			e := errs[0]
			if e.Line != c.line || e.Col != c.col || e.Rule != c.rule || !strings.Contains(e.Msg, c.msg) {
				t.Errorf("got %s (line %d col %d), want line %d col %d rule %q containing %q", e, e.Line, e.Col, c.line, c.col, c.rule, c.msg)
			}
			if !strings.HasSuffix(e.File, "inbound.yaml") {
				t.Errorf("file %q, want inbound.yaml", e.File)
			}
			want := e.File + ":"
			if !strings.HasPrefix(e.Error(), want) || !strings.Contains(e.Error(), `rule "`+c.rule+`"`) {
				t.Errorf("formatted error %q lacks file:line:col: rule \"name\"", e.Error())
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	cases := []struct{ name, rules, msg string }{
		{"unknown key", "pipeline: inbound\nrules:\n  - name: x\n    whne: conn.tls\n    score: 1\n", "unknown field"},
		{"bad pipeline", "pipeline: sideways\nrules: []\n", "pipeline must be"},
		{"unknown stage", "pipeline: inbound\nstages:\n  nosuch: {a: 1}\nrules: []\n", `unknown stage "nosuch"`},
		{"bad stage setting", "pipeline: inbound\nstages:\n  rdns: {dely: 1s}\nrules: []\n", "unknown field"},
		{"yaml syntax", "pipeline: inbound\nrules:\n  - name: [x\n", ""},
		{"duplicate names", "pipeline: inbound\nrules:\n  - {name: a, score: 1}\n  - {name: a, score: 2}\n", "duplicate rule name"},
		{"list file missing", "pipeline: inbound\nlists:\n  b: {file: nope.txt}\nrules: []\n", "nope.txt"},
		{"bad list entry", "pipeline: inbound\nlists:\n  b: [10.0.0.0/33]\nrules: []\n", "not a network"},
		// go-yaml panics decoding a tagged number into a struct: an error, not a crash.
		{"yaml decoder panic in settings", "pipeline: inbound\nstages:\n  rdns: !000000 00\nrules: []\n", "decode"},
		{"yaml decoder panic in a rule", "pipeline: inbound\nrules:\n  - !000000 00\n", "decode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := loadErrors(t, c.rules)
			if !strings.Contains(errs[0].Error(), c.msg) || errs[0].Line == 0 && c.name != "list file missing" {
				t.Errorf("got %q (line %d), want a positioned error containing %q", errs[0].Error(), errs[0].Line, c.msg)
			}
		})
	}
}

// TestAllErrorsAtOnce: a file with several mistakes reports each of them.
func TestAllErrorsAtOnce(t *testing.T) {
	errs := loadErrors(t, `pipeline: inbound
rules:
  - {name: one, when: msg.nope, score: 1}
  - {name: two, when: 'conn.ip == 3', score: 1}
  - {name: three, when: conn.tls, action: reject 250}
`)
	if len(errs) != 3 {
		t.Fatalf("got %d errors, want 3: %v", len(errs), errs)
	}
	for i, name := range []string{"one", "two", "three"} {
		if errs[i].Rule != name || errs[i].Line != 3+i {
			t.Errorf("error %d: %s, want rule %s on line %d", i, errs[i], name, 3+i)
		}
	}
}
