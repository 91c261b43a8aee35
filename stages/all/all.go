// Package all links every check into a binary: importing it registers the
// stages under their namespaces (rdns, dnsbl, uribl, spf, dkim, dmarc,
// arc, bayes, sender).
package all

import (
	_ "github.com/sluicemail/sluice/stages/arc"    // arc: ARC chain validation
	_ "github.com/sluicemail/sluice/stages/bayes"  // bayes: Bayesian spam probability
	_ "github.com/sluicemail/sluice/stages/dkim"   // dkim: DKIM signature verification
	_ "github.com/sluicemail/sluice/stages/dmarc"  // dmarc: DMARC policy evaluation
	_ "github.com/sluicemail/sluice/stages/dnsbl"  // dnsbl: DNS lists of the client IP; uribl: of the message's domains
	_ "github.com/sluicemail/sluice/stages/rdns"   // rdns: reverse DNS and FCrDNS of the client
	_ "github.com/sluicemail/sluice/stages/sender" // sender: whether a recipient corresponds with the sender
	_ "github.com/sluicemail/sluice/stages/spf"    // spf: SPF check of MAIL FROM / HELO
)
