// Package engine holds the message model (Message, Envelope), the facts the
// rules read (Facts and its namespaces), the verdict a pipeline reaches
// (Verdict), the Stage interface that every check implements, and the
// pipeline that runs stages lazily and evaluates compiled rules in order.
//
// The engine knows nothing about YAML or SMTP: package rules compiles rule
// files into a Pipeline, and package server drives a Tx phase by phase.
package engine
