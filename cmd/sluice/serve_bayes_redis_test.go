package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/server/state/redistest"
	"github.com/sluicemail/sluice/stages/bayes"
)

const bayesSharedInbound = `pipeline: inbound
stages:
  bayes: {model: bayes.model, min_learns: 40}
rules:
  - name: bayes-spam
    when: bayes.trained and bayes.spam >= 0.9
    action: junk
    headers: {X-Spam-Flag: "YES"}
  - name: bayes-unavailable
    when: bayes.result == "temperror"
    headers: {X-Bayes: "temperror"}
`

// cryptoWords are a kind of spam neither node has seen in training.
var cryptoWords = strings.Fields("airdrop presale blockchain staking wallet tokenomics whitelist mainnet " +
	"yield moonshot liquidity defi metaverse mint nft")

// cryptoMessage is message n of the unseen kind, from sender.
func cryptoMessage(sender string, n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 11))
	var body []string
	for range 60 {
		if r.IntN(5) == 0 {
			body = append(body, e2eCommon[r.IntN(len(e2eCommon))])
		} else {
			body = append(body, cryptoWords[r.IntN(len(cryptoWords))])
		}
	}
	return fmt.Sprintf("From: <%s>\r\nTo: <alice@example.net>\r\nSubject: Presale whitelist airdrop %d\r\nDate: %s\r\nMessage-ID: <c%d.%d@e2e.test>\r\n\r\n%s\r\n",
		sender, n, time.Now().Format(time.RFC1123Z), n, time.Now().UnixNano(), strings.Join(body, " "))
}

// Two sluice servers on one real redis-server share the Bayes token
// counts: a spam the user moves to Junk over IMAP on node A makes node B
// junk the next one of its kind, which B let through before the move.
func TestTwoNodesShareBayesOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	cfg := fmt.Sprintf("state: {redis: {addr: %q, timeout: 2s}}\n", srv.Addr)
	a := newE2EWith(t, bayesSharedInbound, cfg, "")
	b := newE2EWith(t, bayesSharedInbound, cfg, "")
	modelA, err := bayes.OpenModel(filepath.Join(a.in.cfg.Data, bayes.DefaultModelFile))
	if err != nil {
		t.Fatal(err)
	}
	modelB, err := bayes.OpenModel(filepath.Join(b.in.cfg.Data, bayes.DefaultModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if modelA == modelB {
		t.Fatal("the two nodes share one Model value; the test would prove nothing")
	}
	// Trained on A (as `sluice train` on one node would): B reads the
	// same counts.
	for i := range 60 {
		spam := bulkMessage(fmt.Sprintf("deals%d@shop%d.example", i, i), "Offers of the week", true, i)
		ham := bulkMessage(fmt.Sprintf("colleague%d@work.example", i), "Re: project", false, 1000+i)
		if _, err := modelA.Learn([]byte(spam), bayes.Spam); err != nil {
			t.Fatal(err)
		}
		if _, err := modelA.Learn([]byte(ham), bayes.Ham); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := modelB.Stats(); err != nil || st.Spam != 60 || st.Ham != 60 {
		t.Fatalf("node B's model: %+v, %v; want A's 60/60 from Redis", st, err)
	}
	send := func(e *e2e, sender string, n int) {
		t.Helper()
		c, err := gosmtp.Dial(e.addr(smtp.MX))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail(sender, []string{"alice@example.net"}, strings.NewReader(cryptoMessage(sender, n))); err != nil {
			t.Fatal(err)
		}
	}
	// Before any correction, the unseen kind passes on both nodes.
	send(b, "launch@token1.example", 1)
	b.mailbox("alice@example.net", "INBOX", 1)
	send(a, "launch@token2.example", 2)
	a.mailbox("alice@example.net", "INBOX", 1)

	// The user on A moves it to Junk.
	c := a.dialIMAPS()
	if err := c.Login("alice@example.net", "password1").Wait(); err != nil {
		t.Fatalf("IMAP login: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.SeqSetNum(1), "Junk").Wait(); err != nil {
		t.Fatalf("MOVE INBOX -> Junk: %v", err)
	}
	a.mailbox("alice@example.net", "Junk", 1)
	if st, err := modelB.Stats(); err != nil || st.Spam != 61 {
		t.Fatalf("after the move on A, node B's model has %+v, %v; want the message learnt as spam", st, err)
	}

	// The next one of that kind, from yet another sender, into B: junked.
	send(b, "launch@token3.example", 3)
	junk := b.mailbox("alice@example.net", "Junk", 1)[0]
	if !strings.Contains(junk, "X-Spam-Flag: YES") {
		t.Fatalf("node B's Junk holds a message without the Bayes rule's header:\n%s", junk)
	}
	b.mailbox("alice@example.net", "INBOX", 1)
	if !strings.Contains(junk, "Presale whitelist airdrop 3") {
		t.Fatalf("node B junked another message:\n%s", junk)
	}

	// Redis killed: B still takes the next one (the stage fails within
	// state.redis.timeout, bayes.result says temperror, the mail flows).
	srv.Stop()
	send(b, "launch@token4.example", 4)
	inbox := b.mailbox("alice@example.net", "INBOX", 2)
	down := ""
	for _, m := range inbox {
		if strings.Contains(m, "airdrop 4") {
			down = m
		}
	}
	if !strings.Contains(down, "X-Bayes: temperror") || strings.Contains(down, "X-Spam-Flag") {
		t.Fatalf("with Redis down, the message in B's INBOX:\n%s", down)
	}
	// Back (empty: nothing was saved): learning and reading work again
	// with nothing restarted.
	srv.Restart()
	if _, err := modelA.Learn([]byte(cryptoMessage("launch@token5.example", 5)), bayes.Spam); err != nil {
		t.Fatalf("learning on A after Redis came back: %v", err)
	}
	if st, err := modelB.Stats(); err != nil || st.Spam != 1 {
		t.Fatalf("B after Redis came back: %+v, %v", st, err)
	}
}

// A user's move into Junk while the shared Redis hangs (it takes
// connections and never answers): the move completes, and the first
// message's failed learn ends the move's training, so that the IMAP
// client waits one Redis timeout, not one per message.
func TestJunkMoveWithRedisHung(t *testing.T) {
	srv := redistest.Start(t)
	cfg := fmt.Sprintf("state: {redis: {addr: %q, timeout: 300ms}}\n", srv.Addr)
	e := newE2EWith(t, bayesSharedInbound, cfg, "")
	const n = 4
	for i := range n {
		if err := e.send(fmt.Sprintf("launch@token%d.example", i), "alice@example.net", fmt.Sprintf("airdrop %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	e.mailbox("alice@example.net", "INBOX", n)
	srv.Pause()
	defer srv.Resume()
	c := e.dialIMAPS()
	if err := c.Login("alice@example.net", "password1").Wait(); err != nil {
		t.Fatalf("IMAP login: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.SeqSetNum(1, 2, 3, 4), "Junk").Wait(); err != nil {
		t.Fatalf("MOVE INBOX -> Junk with Redis hung: %v", err)
	}
	e.mailbox("alice@example.net", "Junk", n)
	logs := e.logs.String()
	if got := strings.Count(logs, `msg="store: junk training" `); got != 1 {
		t.Errorf("%d failed learns logged for a move of %d with Redis hung, want 1 (the rest not tried)", got, n)
	}
	if !strings.Contains(logs, `msg="store: junk training: the rest of the move is not learnt" user=alice@example.net spam=true skipped=3`) {
		t.Errorf("the skipped learns are not logged")
	}
}
