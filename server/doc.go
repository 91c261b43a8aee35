// Package server holds the parts of sluice that serve mail: smtp (the
// go-smtp backend), queue (spool, delivery, retries, DSN), store (Maildir++
// mailboxes), imap (the go-imap/v2 session), auth (accounts) and config.
package server
