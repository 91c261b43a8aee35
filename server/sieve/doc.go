// Package sieve holds the Sieve mail filtering language (RFC 5228) that
// users bring from Dovecot: a lexer and parser that report errors by
// line and column, a compiler that checks a script against the
// extensions it requires once, when it is uploaded, and an interpreter
// that runs the compiled script against one message and returns the
// actions to take (store in folders with flags, redirect, discard,
// reject, vacation).
//
// Extensions: fileinto, mailbox (RFC 5490 :create), imap4flags (RFC
// 5232), variables (RFC 5229), envelope, subaddress (RFC 5233),
// relational (RFC 5231), body (RFC 5173), copy (RFC 3894), reject and
// ereject (RFC 5429), date (RFC 5260), vacation (RFC 5230), editheader
// (RFC 5293), spamtest and spamtestplus (RFC 5235), encoded-character
// and the comparator i;ascii-numeric. Capabilities lists exactly these; the
// behaviour follows Dovecot's Pigeonhole, against which the tests
// compare results.
package sieve
