package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/stages/bayes"
)

const bayesInbound = `pipeline: inbound
stages:
  bayes: {model: bayes.model, min_learns: 40}
rules:
  - name: known-sender
    when: sender.known
    score: -5
  - name: bayes-spam
    when: bayes.trained and bayes.spam >= 0.99 and not sender.known
    action: junk
    headers: {X-Spam-Flag: "YES"}
`

// Vocabularies of the user-level test's mail: what the model learnt as
// spam, as ham, and the words both share.
var (
	e2eSpamWords = strings.Fields("exclusive offer discount save today limited deal order now free shipping " +
		"clearance sale lowest prices unsubscribe special promotion coupon bargain")
	e2eHamWords = strings.Fields("meeting agenda patch review release notes thanks lunch project deadline " +
		"draft minutes budget report branch merge schedule question")
	e2eCommon = strings.Fields("the and you for this that with have your will please")
)

// bulkMessage is message n of a kind: 60 words, most from its vocabulary.
func bulkMessage(from, subject string, spam bool, n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	vocab := e2eHamWords
	if spam {
		vocab = e2eSpamWords
	}
	var body []string
	for range 60 {
		if r.IntN(4) == 0 {
			body = append(body, e2eCommon[r.IntN(len(e2eCommon))])
		} else {
			body = append(body, vocab[r.IntN(len(vocab))])
		}
	}
	return fmt.Sprintf("From: <%s>\r\nTo: <alice@example.net>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.%d@e2e.test>\r\n\r\n%s\r\n",
		from, subject, time.Now().Format(time.RFC1123Z), n, time.Now().UnixNano(), strings.Join(body, " "))
}

// trainServerModel trains the model the server's stage shares (one per
// file in the process) as `sluice train` would: bulk offers from 60
// senders as spam, 60 discussions as ham.
func trainServerModel(t *testing.T, e *e2e) *bayes.Model {
	t.Helper()
	model, err := bayes.OpenModel(filepath.Join(e.in.cfg.Data, bayes.DefaultModelFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		spam := bulkMessage(fmt.Sprintf("deals%d@shop%d.example", i, i), "Offers of the week", true, i)
		ham := bulkMessage(fmt.Sprintf("colleague%d@work.example", i), "Re: project", false, 1000+i)
		if _, err := model.Learn([]byte(spam), bayes.Spam); err != nil {
			t.Fatal(err)
		}
		if _, err := model.Learn([]byte(ham), bayes.Ham); err != nil {
			t.Fatal(err)
		}
	}
	return model
}

// A user's correction through the real server: a newsletter the model
// takes for spam is delivered to Junk; the user moves it to INBOX with an
// IMAP client; the next issue of it from that sender is not junked. The
// move teaches the model the newsletter as ham and puts its sender in the
// user's book (sender.known), which the rules read.
func TestServeJunkCorrectionTeachesNextMessage(t *testing.T) {
	e := newE2E(t, bayesInbound)
	model := trainServerModel(t, e)
	if err := model.Save(); err != nil {
		t.Fatal(err)
	}
	const sender = "news@outfitter.example"
	send := func(n int) {
		t.Helper()
		c, err := gosmtp.Dial(e.addr(smtp.MX))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		raw := bulkMessage(sender, "Outfitter news: this week's offers", true, n)
		if err := c.SendMail(sender, []string{"alice@example.net"}, strings.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
	}
	send(500)
	junk := e.mailbox("alice@example.net", "Junk", 1)[0]
	if !strings.Contains(junk, "X-Spam-Flag: YES") {
		t.Fatalf("the first newsletter was not junked by the Bayes rule:\n%s", junk)
	}
	c := e.dialIMAPS()
	if err := c.Login("alice@example.net", "password1").Wait(); err != nil {
		t.Fatalf("IMAP login: %v", err)
	}
	if _, err := c.Select("Junk", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.SeqSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatalf("MOVE Junk -> INBOX: %v", err)
	}
	e.mailbox("alice@example.net", "INBOX", 1)
	if st, _ := model.Stats(); st.Ham != 61 {
		t.Fatalf("after the move the model has %+v, want the newsletter learnt as ham", st)
	}
	send(501) // the next issue: other offers, the same sender and kind
	inbox := e.mailbox("alice@example.net", "INBOX", 2)
	e.mailbox("alice@example.net", "Junk", 0)
	for _, m := range inbox {
		if strings.Contains(m, "<501.") && strings.Contains(m, "X-Spam-Flag") {
			t.Errorf("the next issue carries the junk rule's header:\n%s", m)
		}
	}
	// Another sender of the same kind is still junked: what the user
	// taught is about that sender's mail, not every offer.
	c2, err := gosmtp.Dial(e.addr(smtp.MX))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	other := bulkMessage("offers@elsewhere.example", "This week's offers", true, 502)
	if err := c2.SendMail("offers@elsewhere.example", []string{"alice@example.net"}, strings.NewReader(other)); err != nil {
		t.Fatal(err)
	}
	e.mailbox("alice@example.net", "Junk", 1)
}

// The people a user writes to are known senders: after alice submits a
// message to a remote address, that address's mail to her is not junked
// even where the model takes it for spam.
func TestServeSubmissionMakesRecipientKnown(t *testing.T) {
	e := newE2E(t, bayesInbound)
	trainServerModel(t, e)
	const friend = "friend@remote.example"
	deliver := func(n int) {
		t.Helper()
		c, err := gosmtp.Dial(e.addr(smtp.MX))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail(friend, []string{"alice@example.net"}, strings.NewReader(bulkMessage(friend, "Deals I found", true, n))); err != nil {
			t.Fatal(err)
		}
	}
	deliver(700)
	e.mailbox("alice@example.net", "Junk", 1)
	if err := e.submit("alice@example.net", "alice@example.net", friend, "lunch?"); err != nil {
		t.Fatal(err)
	}
	e.remoteMessages(1)
	deliver(701)
	e.mailbox("alice@example.net", "INBOX", 1)
	e.mailbox("alice@example.net", "Junk", 1)
}

// Autolearn through the real server: a confident spam is learnt as it is
// delivered to Junk; the user moving it out over IMAP within the window
// rolls that learn back (the delivered copy, with the server's header
// fields, is recognised) and teaches ham instead.
func TestServeAutolearnRolledBackByMove(t *testing.T) {
	e := newE2E(t, `pipeline: inbound
stages:
  bayes: {model: bayes.model, min_learns: 40, autolearn: {spam: 0.99, per_sender: 5, window: 72h}}
rules:
  - name: bayes-spam
    when: bayes.trained and bayes.spam >= 0.99
    action: junk
`)
	model := trainServerModel(t, e)
	const sender = "news@outfitter.example"
	c, err := gosmtp.Dial(e.addr(smtp.MX))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(sender, []string{"alice@example.net"}, strings.NewReader(bulkMessage(sender, "Offers", true, 800))); err != nil {
		t.Fatal(err)
	}
	e.mailbox("alice@example.net", "Junk", 1)
	if st, _ := model.Stats(); st.Spam != 61 || st.Ham != 60 {
		t.Fatalf("after delivery the model has %+v, want the spam autolearnt (61 spam)", st)
	}
	// The admin listener's /metrics reports the model and the autolearn.
	hasMetrics(t, e.metrics(), `sluice_bayes_messages{class="spam"} 61`, `sluice_bayes_messages{class="ham"} 60`,
		`sluice_bayes_learns_total{class="spam",source="autolearn"} 1`, `sluice_bayes_learns_total{class="ham",source="junk_move"} 0`,
		`sluice_bayes_unlearns_total{source="autolearn_rollback"} 0`)
	im := e.dialIMAPS()
	if err := im.Login("alice@example.net", "password1").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := im.Select("Junk", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := im.Move(imap.SeqSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	if st, _ := model.Stats(); st.Spam != 60 || st.Ham != 61 {
		t.Fatalf("after the move the model has %+v, want the autolearn rolled back (60 spam) and the message learnt as ham (61)", st)
	}
	metrics := e.metrics()
	hasMetrics(t, metrics, `sluice_bayes_messages{class="spam"} 60`, `sluice_bayes_messages{class="ham"} 61`,
		`sluice_bayes_learns_total{class="ham",source="junk_move"} 1`, `sluice_bayes_learns_total{class="spam",source="junk_move"} 0`,
		`sluice_bayes_unlearns_total{source="autolearn_rollback"} 1`, `sluice_bayes_learns_total{class="spam",source="autolearn"} 1`,
		`sluice_imap_commands_total{command="MOVE",status="ok"} 1`)
	if !regexp.MustCompile(`(?m)^sluice_bayes_tokens\{class="ham"\} [1-9]`).MatchString(metrics) {
		t.Errorf("no ham tokens counted:\n%s", metrics)
	}
	lintMetrics(t, metrics)
}

// A rule decides what is autolearnt, through the real server: the issue's
// guard of a second signal beside the model's certainty. With no
// autolearn thresholds, a confident spam is learnt only when a link in it
// is on the domain block list (learn: spam); an equally confident spam
// with no listed link is junked and not learnt. The verdict line says
// what the rule asked.
func TestServeRuleDecidesAutolearn(t *testing.T) {
	e := newE2E(t, `pipeline: inbound
stages:
  bayes: {model: bayes.model, min_learns: 40, autolearn: {per_sender: 5, window: 72h}}
  uribl:
    zones: [{zone: dbl.example, codes: {127.0.1.2: spam}}]
rules:
  - name: learn-confirmed-spam
    when: bayes.trained and bayes.spam >= 0.99 and uribl.listed
    learn: spam
  - name: bayes-spam
    when: bayes.trained and bayes.spam >= 0.99
    action: junk
`)
	model := trainServerModel(t, e)
	send := func(sender, msg string) {
		t.Helper()
		c, err := gosmtp.Dial(e.addr(smtp.MX))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail(sender, []string{"alice@example.net"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	// No listed link: junked, not learnt.
	send("news@outfitter.example", bulkMessage("news@outfitter.example", "Offers", true, 800))
	e.mailbox("alice@example.net", "Junk", 1)
	if st, _ := model.Stats(); st.Spam != 60 {
		t.Fatalf("a spam no rule asked to learn was learnt: %+v", st)
	}
	if line := e.verdictLine("rules=[bayes-spam]"); line == "" || strings.Contains(line, "learn=") {
		t.Errorf("verdict line of the unlisted spam: %q", line)
	}
	// A listed link: junked and learnt.
	send("promo@pills.example", strings.TrimSuffix(bulkMessage("promo@pills.example", "Offers", true, 801), "\r\n")+
		" https://www.bad-url.example/buy\r\n")
	e.mailbox("alice@example.net", "Junk", 2)
	if st, _ := model.Stats(); st.Spam != 61 {
		t.Fatalf("the rule's learn: spam was not learnt: %+v", st)
	}
	line := e.verdictLine("learn-confirmed-spam bayes-spam]")
	if !strings.Contains(line, "learn=spam") || !strings.Contains(line, "action=junk") {
		t.Errorf("verdict line of the listed spam: %q", line)
	}
	// sluice explain tells it from the journal.
	if m := regexp.MustCompile(`journal=(\S+)`).FindStringSubmatch(line); m == nil {
		t.Errorf("no journal ID in %q", line)
	} else if code, out, errOut := run(t, func(a []string, o, e *bytes.Buffer) int { return runExplain(a, o, e) }, "--data", e.in.cfg.Data, m[1]); code != 0 ||
		!strings.Contains(out, "Learn: a rule asked the Bayes model to learn it as spam") {
		t.Errorf("explain %s: %d %s\n%s", m[1], code, errOut, out)
	}
	hasMetrics(t, e.metrics(), `sluice_bayes_learns_total{class="spam",source="autolearn"} 1`)
}
