//go:build race

package main

// raceBuild is set when the tests run with -race: the binary they drive is
// then built with it too, so races in the commands are caught as well.
const raceBuild = true
