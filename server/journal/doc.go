// Package journal is sluice's verdict journal: one JSON line per message
// the server decided on (and per SMTP phase that refused one), with the
// connection, the envelope, the rules that fired with their file and line,
// the facts every check produced, each check's duration and every DNS
// answer the checks used, so that `sluice explain` can tell why and
// `sluice replay` can evaluate the message again with other rules and the
// same answers.
//
// The journal is a directory of append-only files named by day and a
// counter (20261205-0001.jsonl), each starting with a header line that
// names the format version, rotated at the end of a UTC day and when a
// file reaches its size limit, and pruned by age and total size. Beside
// each journal file a .body file keeps copies of the message texts,
// referenced by byte range. Records are written with one write call each
// and fsynced in batches: a crash may lose the last records that were not
// yet synced (a torn last line, which readers skip with a warning), never
// a record in the middle.
package journal
