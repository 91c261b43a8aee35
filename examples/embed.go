// Package examples embeds the example rule directory so that `sluice
// serve` with no rule directory configured can write it into the data
// directory and start with working rules.
package examples

import "embed"

// Rules holds examples/rules: the inbound and outbound rule files, their
// lists, rule tests and test data, under the directory name "rules".
//
//go:embed rules
var Rules embed.FS
