// Package rules loads rule directories: YAML rule files (`*.yaml`) whose
// `when` expressions and reply texts are compiled once, at load, against
// the typed facts environment (github.com/expr-lang/expr), their lists, the
// settings of the stages they use, and the rule tests beside them
// (`*_test.yaml`). Live keeps the running rule set and swaps in a new one
// only after it compiles and its tests pass (hot reload).
package rules
