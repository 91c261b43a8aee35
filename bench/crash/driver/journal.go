package main

import (
	"fmt"
	"strings"

	"github.com/sluicemail/sluice/server/journal"
)

// checkJournal reads the verdict journal back after the kills and says
// whether every acknowledged message has its record (the record is
// written before the 250). A record lost in a kill can only be one whose
// write was cut, which the reader reports as a torn tail. It returns the
// number of acknowledged messages without a record.
func checkJournal(dir string, acked []string) int {
	have := map[string]bool{}
	records := 0
	var warnings []string
	err := journal.Scan(dir, func(r *journal.Record) error {
		records++
		if r.MessageID != "" {
			have["<"+r.MessageID+">"] = true
		}
		return nil
	}, func(w string) { warnings = append(warnings, w) })
	if err != nil {
		fmt.Println("JOURNAL error:", err)
		return len(acked)
	}
	miss := 0
	for _, id := range acked {
		if !have[id] && !have["<"+strings.Trim(id, "<>")+">"] {
			miss++
		}
	}
	fmt.Printf("JOURNAL records=%d acked-without-record=%d reader-warnings=%d\n", records, miss, len(warnings))
	for _, w := range warnings {
		fmt.Println("  " + w)
	}
	return miss
}
