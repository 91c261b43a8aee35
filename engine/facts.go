package engine

// Facts is the typed environment every rule expression is compiled against.
// Each namespace is a value struct whose zero value means "not run", and every
// field is a plain type (string, bool, float64, int, slices of those, value
// structs) so that expr type-checks rules at load time. The `doc` tags feed
// `sluice rules env`.
type Facts struct {
	Conn     ConnFacts     `expr:"conn" doc:"the SMTP connection"`
	Auth     AuthFacts     `expr:"auth" doc:"SMTP authentication"`
	Envelope EnvelopeFacts `expr:"envelope" doc:"the SMTP envelope"`
	Msg      MsgFacts      `expr:"msg" doc:"the message header and body (known after DATA)"`
	Rdns     RDNSFacts     `expr:"rdns" doc:"reverse DNS of the client (stage rdns)"`
	Dnsbl    DNSBLFacts    `expr:"dnsbl" doc:"DNS block and allow lists of the client IP, known at connection (stage dnsbl)"`
	Uribl    DNSBLFacts    `expr:"uribl" doc:"DNS domain lists of the sender, From and URL domains, known after DATA (stage uribl)"`
	SPF      SPFFacts      `expr:"spf" doc:"SPF, RFC 7208 (stage spf)"`
	DKIM     DKIMFacts     `expr:"dkim" doc:"DKIM signatures, RFC 6376/8463 (stage dkim)"`
	DMARC    DMARCFacts    `expr:"dmarc" doc:"DMARC, RFC 7489 (stage dmarc)"`
	ARC      ARCFacts      `expr:"arc" doc:"the ARC chain of forwarders, RFC 8617 (stage arc)"`
	Bayes    BayesFacts    `expr:"bayes" doc:"Bayesian spam probability (stage bayes)"`
	Rate     RateFacts     `expr:"rate" doc:"the rate limits rate_exceeded counted for this message"`
	Greylist GreylistFacts `expr:"greylist" doc:"what the greylist action decided for this message"`
	DNS      DNSFacts      `expr:"dns" doc:"health of the server's DNS resolver"`
	Sender   SenderFacts   `expr:"sender" doc:"whether a recipient corresponds with the sender (stage sender)"`
	Score    float64       `expr:"score" doc:"sum of the scores of the rules that fired so far"`

	Header  func(name string) string      `expr:"header" doc:"first value of a header field, decoded (\"\" if absent)"`
	Headers func(name string) []string    `expr:"headers" doc:"every value of a header field, decoded, in order"`
	InList  func(list, value string) bool `expr:"in_list" doc:"whether an address, domain or IP is in a named list"`
	Domain  func(address string) string   `expr:"domain" doc:"the domain of an address, lower-case (\"\" if none)"`
	CIDR    func(ip, network string) bool `expr:"cidr" doc:"whether ip is inside network (\"10.0.0.0/8\")"`

	RateExceeded   func(name, key, limit string) bool        `expr:"rate_exceeded" doc:"counts this message under name and key (once per message) and says whether that passes limit (\"100/h\", \"3/10m\"), sliding window; shared across nodes on Redis; false with rate.result temperror when the state cannot answer"`
	RateExceededBy func(name, key, limit string, n int) bool `expr:"rate_exceeded_by" doc:"as rate_exceeded, counting n events (e.g. len(envelope.rcpt) for recipients per hour)"`
}

// DNSFacts describe the resolver the checks use, as the server saw it when
// the transaction began.
type DNSFacts struct {
	Degraded bool `expr:"degraded" doc:"whether too many recent DNS queries failed (see /readyz): checks may say temperror"`
}

// ConnFacts describe the SMTP connection.
type ConnFacts struct {
	IP       string `expr:"ip" doc:"client IP address"`
	HELO     string `expr:"helo" doc:"HELO/EHLO name"`
	TLS      bool   `expr:"tls" doc:"whether the session is encrypted"`
	Listener string `expr:"listener" doc:"listener name: smtp, submission, submissions, or check"`
	Port     int    `expr:"port" doc:"local port the client connected to"`
}

// AuthFacts describe SMTP AUTH.
type AuthFacts struct {
	Authenticated bool   `expr:"authenticated" doc:"whether the client authenticated"`
	User          string `expr:"user" doc:"the authenticated user"`
}

// EnvelopeFacts describe MAIL FROM and RCPT TO.
type EnvelopeFacts struct {
	MailFrom    string   `expr:"mail_from" doc:"MAIL FROM address (\"\" for the null sender)"`
	FromDomain  string   `expr:"from_domain" doc:"domain of MAIL FROM, lower-case"`
	Rcpt        []string `expr:"rcpt" doc:"RCPT TO addresses"`
	RcptDomains []string `expr:"rcpt_domains" doc:"domains of RCPT TO, lower-case, deduplicated"`
}

// MsgFacts describe the message itself. Header facts are cheap and always
// filled; body facts (Text, URLs, Attachments) are filled only when a rule
// that is reached reads them.
type MsgFacts struct {
	Subject         string       `expr:"subject" doc:"Subject, RFC 2047 decoded"`
	From            string       `expr:"from" doc:"address in From, lower-case"`
	FromName        string       `expr:"from_name" doc:"display name in From, decoded"`
	FromDomain      string       `expr:"from_domain" doc:"domain of From"`
	To              []string     `expr:"to" doc:"addresses in To and Cc"`
	ReplyTo         string       `expr:"reply_to" doc:"address in Reply-To"`
	ReplyToDomain   string       `expr:"reply_to_domain" doc:"domain of Reply-To"`
	MessageID       string       `expr:"message_id" doc:"Message-ID without angle brackets"`
	Size            int          `expr:"size" doc:"message size in bytes"`
	Malformed       bool         `expr:"malformed" doc:"whether the header or MIME structure could not be fully parsed"`
	MalformedReason string       `expr:"malformed_reason" doc:"why the message counts as malformed"`
	Text            string       `expr:"text" doc:"text of the text/plain and text/html parts (HTML reduced to text)"`
	HTML            bool         `expr:"html" doc:"whether the message has a text/html part"`
	URLs            []string     `expr:"urls" doc:"URLs found in the body"`
	URLDomains      []string     `expr:"url_domains" doc:"host names of those URLs, lower-case, deduplicated"`
	Attachments     []Attachment `expr:"attachments" doc:"attachments (name, content_type, size)"`

	Header func(name string) string `expr:"header" doc:"same as header(name)"`
}

// Attachment is one non-inline part of a message.
type Attachment struct {
	Name        string `expr:"name" doc:"file name"`
	ContentType string `expr:"content_type" doc:"MIME type, lower-case"`
	Size        int    `expr:"size" doc:"decoded size in bytes"`
}

// RDNSFacts are the reverse DNS of the client IP.
type RDNSFacts struct {
	Result string   `expr:"result" doc:"pass (forward-confirmed), fail, none, temperror"`
	Names  []string `expr:"names" doc:"PTR names of the client IP"`
	FCrDNS bool     `expr:"fcrdns" doc:"whether a PTR name resolves back to the IP"`
}

// DNSBLFacts are the results of one stage's DNS lists: in dnsbl, the IP
// lists that looked up the client IP; in uribl, the domain lists that
// looked up the sender, From and URL domains. The docs hold for both.
type DNSBLFacts struct {
	Listed   bool                   `expr:"listed" doc:"whether a block list lists what the stage looked up (dnsbl: the client IP; uribl: the sender, From or a URL domain)"`
	Allowed  bool                   `expr:"allowed" doc:"whether an allow list (a DNSWL) lists what the stage looked up"`
	Hits     []DNSBLHit             `expr:"hits" doc:"every list answer (zone, query, codes, tags)"`
	Score    float64                `expr:"score" doc:"sum of the scores of the hits (allow lists count negatively)"`
	Errors   []string               `expr:"errors" doc:"zones that failed or refused the query"`
	Result   string                 `expr:"result" doc:"listed, allowed, none or temperror"`
	ListedIn func(zone string) bool `expr:"listed_in" doc:"whether the named zone listed something"`
}

// DNSBLHit is one positive answer from one list.
type DNSBLHit struct {
	Zone  string   `expr:"zone" doc:"the list's zone"`
	Query string   `expr:"query" doc:"the name queried"`
	Item  string   `expr:"item" doc:"what was looked up: the client IP (dnsbl) or a registered domain (uribl)"`
	Codes []string `expr:"codes" doc:"the A records returned (127.0.0.x)"`
	Tags  []string `expr:"tags" doc:"tags mapped from the codes"`
	Allow bool     `expr:"allow" doc:"whether the list is an allow list"`
	Score float64  `expr:"score" doc:"score of this hit"`
}

// SPFFacts are the RFC 7208 result for the MAIL FROM (or HELO) identity.
type SPFFacts struct {
	Result      string `expr:"result" doc:"pass, fail, softfail, neutral, none, temperror, permerror"`
	Domain      string `expr:"domain" doc:"the domain checked"`
	Identity    string `expr:"identity" doc:"mailfrom or helo"`
	Explanation string `expr:"explanation" doc:"the exp= text or the reason"`
}

// DKIMFacts are the results of every DKIM-Signature.
type DKIMFacts struct {
	Result      string       `expr:"result" doc:"pass if any signature passed, else fail, temperror, permerror or none"`
	Pass        bool         `expr:"pass" doc:"whether any signature is valid"`
	PassDomains []string     `expr:"pass_domains" doc:"d= of the valid signatures"`
	Results     []DKIMResult `expr:"results" doc:"one result per signature"`
}

// DKIMResult is the verification of one signature.
type DKIMResult struct {
	Domain    string `expr:"domain" doc:"d="`
	Selector  string `expr:"selector" doc:"s="`
	Algorithm string `expr:"algorithm" doc:"a="`
	Result    string `expr:"result" doc:"pass, fail, neutral, temperror, permerror"`
	Reason    string `expr:"reason" doc:"why it did not pass"`
	BodyLimit bool   `expr:"body_limit" doc:"whether the signature has an l= tag (content may be appended)"`
}

// DMARCFacts are the RFC 7489 evaluation of the From domain.
type DMARCFacts struct {
	Result      string `expr:"result" doc:"pass, fail, none, temperror, permerror"`
	Policy      string `expr:"policy" doc:"the policy that applies: none, quarantine, reject"`
	Domain      string `expr:"domain" doc:"the From domain"`
	OrgDomain   string `expr:"org_domain" doc:"its organisational domain"`
	AlignedSPF  bool   `expr:"aligned_spf" doc:"whether SPF passed for an aligned domain"`
	AlignedDKIM bool   `expr:"aligned_dkim" doc:"whether DKIM passed for an aligned domain"`
	Sampled     bool   `expr:"sampled" doc:"whether pct= selected this message for the policy"`
}

// BayesFacts are the Bayesian classifier's opinion.
type BayesFacts struct {
	Trained bool     `expr:"trained" doc:"whether both classes have enough messages to decide"`
	Spam    float64  `expr:"spam" doc:"probability of spam, 0..1"`
	Ham     float64  `expr:"ham" doc:"probability of ham, 0..1"`
	Tokens  []string `expr:"tokens" doc:"the tokens that weighed most"`
	Known   int      `expr:"known" doc:"how many of the message's tokens the model has seen (spam is 0.5 below the stage's min_tokens)"`
	Result  string   `expr:"result" doc:"ok, or temperror when the model's counts could not be read (Redis down): spam is then 0.5"`
}

// SenderFacts say whether the sender is a known correspondent.
type SenderFacts struct {
	Known bool `expr:"known" doc:"a recipient wrote to the From address or the envelope sender, or took their mail out of Junk"`
}

// ARCFacts are the validation of the message's Authenticated Received
// Chain: the forwarders that sealed it and what each of them saw.
type ARCFacts struct {
	Chain         string   `expr:"chain" doc:"none (no ARC sets), pass, fail, or temperror (a key lookup failed)"`
	Sealers       []string `expr:"sealers" doc:"d= of every ARC-Seal, oldest first"`
	Trusted       bool     `expr:"trusted" doc:"whether the chain passes and its newest sealer is in the trusted list (arc: {trusted: [...]})"`
	Instances     int      `expr:"instances" doc:"number of ARC sets"`
	OldestResults string   `expr:"oldest_results" doc:"the first hop's ARC-Authentication-Results (what it saw of SPF, DKIM, DMARC)"`
	NewestResults string   `expr:"newest_results" doc:"the newest hop's ARC-Authentication-Results"`
	Reason        string   `expr:"reason" doc:"why the chain does not pass"`
}
