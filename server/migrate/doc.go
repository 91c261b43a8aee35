// Package migrate brings a Postfix + Dovecot (+ SpamAssassin) server's
// state into sluice: accounts with their password hashes (Dovecot
// passwd-files), mail (Maildir++ trees with dovecot-uidlist and
// dovecot-keywords, or a live IMAP server), and settings (Postfix maps and
// SpamAssassin lists, written as sluice aliases and rule files). Every
// importer works beside a running server and is safe to run again: what
// is already there is left alone.
package migrate
