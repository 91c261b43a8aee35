// Package examples embeds the example rule directory so that `sluice
// serve` with no rule directory configured can write it into the data
// directory and start with working rules.
package examples

import "embed"

// Files holds examples/rules (the inbound and outbound rule files, their
// lists, rule tests and test data) and examples/messages (the sample
// messages the rule tests read as ../messages/...).
//
//go:embed rules messages
var Files embed.FS
