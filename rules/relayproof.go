package rules

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/sluicemail/sluice/engine"
)

// RelayPolicy is what the relay-safety proof needs to know of the server:
// which addresses are local, and which other addresses the config allows
// rules to redirect to.
type RelayPolicy struct {
	IsLocal func(domain string) bool // whether a domain is one of ours
	Allowed []string                 // non-local redirect targets the config allows
}

// ProveRelaySafety shows that no rule can send mail from an
// unauthenticated sender to a non-local address: for every rule whose
// action redirects, either the target is local or allowed by the config,
// or the rule runs only for authenticated senders (the outbound pipeline,
// which sluice runs only for authenticated submission; a condition that
// requires auth.authenticated; or an earlier rule that ends evaluation of
// every unauthenticated message). The proof is conservative: a rule it
// cannot place is an error. It returns one line per fact proven.
func (s *Set) ProveRelaySafety(pol RelayPolicy) ([]string, ErrorList) {
	var proven []string
	var errs ErrorList
	for _, name := range s.Pipelines() {
		p := s.Pipeline(name)
		guardedFrom := "" // the rule after which no unauthenticated message goes on
		n := 0
		for _, r := range p.Rules {
			if r.Action.Kind != engine.ActionRedirect {
				if guardedFrom == "" && r.Stop && r.When != nil && refusesUnauthenticated(r.When) {
					guardedFrom = r.Name
				}
				continue
			}
			n++
			why, ok := redirectSafe(name, r, pol, guardedFrom)
			if !ok {
				errs = append(errs, &Error{File: r.Pos.File, Line: r.Pos.Line, Col: r.Pos.Col, Rule: r.Name, Msg: fmt.Sprintf(
					"relay safety: this rule can redirect mail from an unauthenticated sender to %s, which is not local: "+
						"require auth.authenticated in its when, or list the address in redirects_allowed in the config", r.Action.Redirect)})
				continue
			}
			proven = append(proven, fmt.Sprintf("%s: rule %q redirects to %s: %s", name, r.Name, r.Action.Redirect, why))
		}
		if n == 0 {
			proven = append(proven, fmt.Sprintf("%s: no rule redirects: mail leaves only as addressed (relaying to other domains needs AUTH)", name))
		}
	}
	return proven, errs
}

func redirectSafe(pipeline string, r *engine.Rule, pol RelayPolicy, guardedFrom string) (string, bool) {
	target := strings.ToLower(r.Action.Redirect)
	domain := target[strings.LastIndexByte(target, '@')+1:]
	switch {
	case pol.IsLocal != nil && pol.IsLocal(domain):
		return "a local address", true
	case containsFold(pol.Allowed, target):
		return "allowed by redirects_allowed in the config", true
	case pipeline == Outbound:
		return "the outbound pipeline runs only for authenticated senders", true
	case r.When != nil && requiresAuth(r.When.Program.Node()):
		return "its condition requires auth.authenticated", true
	case guardedFrom != "":
		return fmt.Sprintf("rule %q before it ends every unauthenticated message", guardedFrom), true
	}
	return "", false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.Trim(x, "<> "), s) {
			return true
		}
	}
	return false
}

// requiresAuth reports whether the condition n can be true only when
// auth.authenticated is: it is auth.authenticated (or == true), or a
// conjunction one of whose sides requires it, or a disjunction both of
// whose sides do.
func requiresAuth(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.MemberNode:
		return isAuthField(x)
	case *ast.BinaryNode:
		switch x.Operator {
		case "and", "&&":
			return requiresAuth(x.Left) || requiresAuth(x.Right)
		case "or", "||":
			return requiresAuth(x.Left) && requiresAuth(x.Right)
		case "==":
			return isTrue(x.Right) && requiresAuth(x.Left) || isTrue(x.Left) && requiresAuth(x.Right)
		}
	}
	return false
}

// refusesUnauthenticated reports whether a rule's condition holds for
// every unauthenticated message: it is `not auth.authenticated` (or
// `auth.authenticated == false`), or a disjunction with such a side.
func refusesUnauthenticated(c *engine.Compiled) bool {
	return notAuth(c.Program.Node())
}

func notAuth(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.UnaryNode:
		return (x.Operator == "not" || x.Operator == "!") && requiresAuth(x.Node)
	case *ast.BinaryNode:
		switch x.Operator {
		case "or", "||":
			return notAuth(x.Left) || notAuth(x.Right)
		case "==":
			return isFalse(x.Right) && requiresAuth(x.Left) || isFalse(x.Left) && requiresAuth(x.Right)
		}
	}
	return false
}

func isAuthField(m *ast.MemberNode) bool {
	id, ok := m.Node.(*ast.IdentifierNode)
	s, ok2 := m.Property.(*ast.StringNode)
	return ok && ok2 && id.Value == "auth" && s.Value == "authenticated" && !m.Optional
}

func isTrue(n ast.Node) bool  { b, ok := n.(*ast.BoolNode); return ok && b.Value }
func isFalse(n ast.Node) bool { b, ok := n.(*ast.BoolNode); return ok && !b.Value }
