package milter

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"
	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/stages/dkim"
)

const testRules = `pipeline: inbound
stages:
  greylist: {delay: 1h, window: 2h}
rules:
  - name: blocked-sender
    when: envelope.mail_from == "spammer@bad.example"
    action: reject 550 5.7.1 "Sender {{ envelope.mail_from }} refused"
  - name: no-such-list
    when: any(envelope.rcpt, {# == "list@example.net"})
    action: tempfail 450 4.2.1 "List is paused"
  - name: grey
    when: envelope.mail_from endsWith "@grey.example"
    action: greylist
  - name: buy-now
    when: msg.subject contains "BUY NOW"
    action: reject 554 5.7.1 "Spam content refused"
  - name: junk-me
    when: msg.subject contains "viagra"
    action: junk
    headers: {X-Spam-Flag: "YES"}
  - name: hold-me
    when: msg.subject contains "HOLD"
    action: quarantine
  - name: drop-me
    when: msg.subject contains "DROP"
    action: discard
  - name: redirect-me
    when: msg.subject contains "REDIRECT"
    action: redirect bob@example.net
  - name: tag-me
    when: msg.subject contains "offer"
    tag: "[SPAM?]"
`

const outboundRules = `pipeline: outbound
rules:
  - name: user-rate
    when: rate_exceeded("user", auth.user, "2/h")
    action: tempfail 450 4.7.1 "{{ auth.user }} sent too much"
`

// startMilter runs a milter server on loopback with the rules above.
func startMilter(t testing.TB, signer Signer) string {
	t.Helper()
	return startMilterWith(t, func(o *Options) { o.Signer = signer })
}

func startMilterWith(t testing.TB, mod func(*Options)) string {
	t.Helper()
	return startMilterRules(t, testRules, mod)
}

// startMilterRules runs a milter server with these inbound rules and the
// outbound ones above.
func startMilterRules(t testing.TB, inbound string, mod func(*Options)) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte(inbound), 0o644)
	os.WriteFile(filepath.Join(dir, "outbound.yaml"), []byte(outboundRules), 0o644)
	set, err := rules.Load(dir, rules.Options{State: engine.NewMemoryState()})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Pipeline: set.Pipeline, AuthservID: "mx.example.net", Logger: slog.New(slog.DiscardHandler)}
	mod(&o)
	s := New(o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

// mta plays the MTA's side with go-milter's client: a real milter
// conversation over TCP.
type mta struct {
	t    *testing.T
	sess *gomilter.ClientSession
}

func dialMTA(t *testing.T, addr, user string) *mta {
	t.Helper()
	c := gomilter.NewClient("tcp", addr, gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	macros := gomilter.NewMacroBag()
	macros.Set(gomilter.MacroMTAFQDN, "mx.example.net")
	if user != "" {
		macros.Set(gomilter.MacroAuthAuthen, user)
	}
	sess, err := c.Session(macros)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	if _, err := sess.Conn("client.example.org", gomilter.FamilyInet, 40000, "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Helo("client.example.org"); err != nil {
		t.Fatal(err)
	}
	return &mta{t: t, sess: sess}
}

// result is what the milter said of one message.
type result struct {
	stage string // where it stopped: mail, rcpt or end
	act   *gomilter.Action
	mods  []gomilter.ModifyAction
}

func (m *mta) send(from string, to []string, msg string) result {
	m.t.Helper()
	act, err := m.sess.Mail(from, "")
	if err != nil {
		m.t.Fatal(err)
	}
	if act.StopProcessing() {
		m.sess.Abort(nil)
		return result{stage: "mail", act: act}
	}
	accepted := 0
	var last *gomilter.Action
	for _, r := range to {
		act, err := m.sess.Rcpt(r, "")
		if err != nil {
			m.t.Fatal(err)
		}
		if act.StopProcessing() {
			last = act
			continue
		}
		accepted++
	}
	if accepted == 0 {
		m.sess.Abort(nil)
		return result{stage: "rcpt", act: last}
	}
	if _, err := m.sess.DataStart(); err != nil {
		m.t.Fatal(err)
	}
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		if _, err := m.sess.HeaderField(name, value, nil); err != nil {
			m.t.Fatal(err)
		}
	}
	if _, err := m.sess.HeaderEnd(); err != nil {
		m.t.Fatal(err)
	}
	mods, act, err := m.sess.BodyReadFrom(strings.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	return result{stage: "end", act: act, mods: mods}
}

func (r result) header(name string) (string, bool) {
	for _, m := range r.mods {
		if (m.Type == gomilter.ActionInsertHeader || m.Type == gomilter.ActionAddHeader) && strings.EqualFold(m.HeaderName, name) {
			return strings.TrimLeft(m.HeaderValue, " "), true
		}
	}
	return "", false
}

func message(subject string, extra ...string) string {
	h := "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: " + subject + "\r\nMessage-ID: <1@example.org>\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\nHello Bob.\r\n"
}

// TestActions: each verdict becomes its milter reply or modification.
func TestActions(t *testing.T) {
	addr := startMilter(t, nil)
	m := dialMTA(t, addr, "")

	r := m.send("<spammer@bad.example>", []string{"<bob@example.net>"}, message("hi"))
	if r.stage != "mail" || r.act.Type != gomilter.ActionRejectWithCode || r.act.SMTPCode != 550 || !strings.Contains(r.act.SMTPReply, "5.7.1 Sender spammer@bad.example refused") {
		t.Fatalf("blocked sender: %s %+v", r.stage, r.act)
	}
	r = m.send("<a@example.org>", []string{"<list@example.net>"}, message("hi"))
	if r.stage != "rcpt" || r.act.SMTPCode != 450 || !strings.Contains(r.act.SMTPReply, "4.2.1 List is paused") {
		t.Fatalf("tempfailed recipient: %s %+v", r.stage, r.act)
	}
	r = m.send("<news@grey.example>", []string{"<bob@example.net>"}, message("hi"))
	if r.stage != "rcpt" || r.act.SMTPCode != 451 || !strings.Contains(r.act.SMTPReply, "4.7.1 Greylisted, retry after 1h0m0s") {
		t.Fatalf("greylisted: %s %+v", r.stage, r.act)
	}
	r = m.send("<a@example.org>", []string{"<bob@example.net>"}, message("BUY NOW"))
	if r.act.SMTPCode != 554 || !strings.Contains(r.act.SMTPReply, "5.7.1 Spam content refused") {
		t.Fatalf("content reject: %+v", r.act)
	}
	r = m.send("<a@example.org>", []string{"<bob@example.net>"}, message("cheap viagra"))
	if v, _ := r.header(JunkHeader); v != "Yes" || r.act.Type != gomilter.ActionAccept {
		t.Fatalf("junk: %v %+v", r.mods, r.act)
	}
	if v, _ := r.header("X-Spam-Flag"); v != "YES" {
		t.Fatalf("junk: the rule's header is missing: %v", r.mods)
	}
	r = m.send("<a@example.org>", []string{"<bob@example.net>"}, message("HOLD this"))
	if !hasMod(r, gomilter.ActionQuarantine, "hold-me") {
		t.Fatalf("quarantine: %v", r.mods)
	}
	r = m.send("<a@example.org>", []string{"<bob@example.net>"}, message("DROP this"))
	if r.act.Type != gomilter.ActionDiscard {
		t.Fatalf("discard: %+v", r.act)
	}
	r = m.send("<a@example.org>", []string{"<carol@example.net>"}, message("REDIRECT this"))
	if !hasMod(r, gomilter.ActionDelRcpt, "carol@example.net") || !hasMod(r, gomilter.ActionAddRcpt, "bob@example.net") {
		t.Fatalf("redirect: %v", r.mods)
	}
	r = m.send("<a@example.org>", []string{"<bob@example.net>"}, message("an offer"))
	if !hasMod(r, gomilter.ActionChangeHeader, "[SPAM?] an offer") {
		t.Fatalf("tag: %v", r.mods)
	}
}

func hasMod(r result, typ gomilter.ModifyActionType, contains string) bool {
	for _, m := range r.mods {
		if m.Type == typ && strings.Contains(m.Rcpt+strings.TrimLeft(m.HeaderValue, " ")+m.Reason, contains) {
			return true
		}
	}
	return false
}

// TestAuthenticationResults: clean mail gets ours on top, and a forged
// one in our name is deleted while another host's stays.
func TestAuthenticationResults(t *testing.T) {
	addr := startMilter(t, nil)
	m := dialMTA(t, addr, "")
	r := m.send("<a@example.org>", []string{"<bob@example.net>"}, message("hello",
		"Authentication-Results: other.example; spf=pass smtp.mailfrom=x",
		"Authentication-Results: mx.example.net; dkim=pass header.d=bank.example"))
	if r.act.Type != gomilter.ActionAccept {
		t.Fatalf("clean message: %+v", r.act)
	}
	ar, ok := r.header("Authentication-Results")
	if !ok || !strings.HasPrefix(ar, "mx.example.net") {
		t.Fatalf("no Authentication-Results of ours: %v", r.mods)
	}
	var deleted []uint32
	for _, mod := range r.mods {
		if mod.Type == gomilter.ActionChangeHeader && strings.EqualFold(mod.HeaderName, "Authentication-Results") && mod.HeaderValue == "" {
			deleted = append(deleted, mod.HeaderIndex)
		}
	}
	if len(deleted) != 1 || deleted[0] != 2 {
		t.Fatalf("deleted A-R fields %v, want only the 2nd (the forged one)", deleted)
	}
}

// TestOutboundSigned: mail from an authenticated user ({auth_authen}) runs
// the outbound rules (a rate limit here) and gets a DKIM signature that
// verifies over the message as delivered.
func TestOutboundSigned(t *testing.T) {
	pub, signer := testSigner(t)
	addr := startMilter(t, signer)
	m := dialMTA(t, addr, "alice@example.org")
	for i := 0; i < 2; i++ {
		r := m.send("<alice@example.org>", []string{"<x@remote.example>"}, message("report"))
		for _, mod := range r.mods {
			if strings.Contains(mod.HeaderValue, "\r") {
				t.Fatalf("%s folded with CR: milter values fold with a bare LF", mod.HeaderName)
			}
		}
		sig, ok := r.header("DKIM-Signature")
		if r.act.Type != gomilter.ActionAccept || !ok || !strings.Contains(sig, "d=example.org") {
			t.Fatalf("outbound %d: %+v %v", i, r.act, r.mods)
		}
		if _, ok := r.header("Authentication-Results"); ok {
			t.Fatal("outbound mail got an Authentication-Results field")
		}
		delivered := "DKIM-Signature: " + strings.ReplaceAll(sig, "\n", "\r\n") + "\r\n" + message("report")
		verifs, err := msgdkim.VerifyWithOptions(strings.NewReader(delivered), &msgdkim.VerifyOptions{
			LookupTXT: func(string) ([]string, error) {
				return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
			}})
		if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
			t.Fatalf("signature does not verify: %v %+v", err, verifs)
		}
	}
	r := m.send("<alice@example.org>", []string{"<x@remote.example>"}, message("report"))
	if r.stage != "mail" || r.act.SMTPCode != 450 || !strings.Contains(r.act.SMTPReply, "alice@example.org sent too much") {
		t.Fatalf("third message: %s %+v", r.stage, r.act)
	}
}

// TestMacroFacts: the connection facts come from the MTA: conn.ip from the
// connect callback ({client_addr}), an IPv6 client greylisted by its /64,
// conn.tls from {tls_version}, auth.user from {auth_authen}.
func TestMacroFacts(t *testing.T) {
	addr := startMilterRules(t, `pipeline: inbound
stages:
  greylist: {delay: 1h, window: 2h}
rules:
  - name: grey
    when: envelope.mail_from endsWith "@grey.example"
    action: greylist
  - name: show
    headers: {X-Conn: "{{ conn.ip }} tls={{ conn.tls }} listener={{ conn.listener }}"}
`, func(*Options) {})
	c := gomilter.NewClient("tcp", addr, gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	macros := gomilter.NewMacroBag()
	macros.Set(gomilter.MacroMTAFQDN, "mx.example.net")
	macros.Set(gomilter.MacroClientAddr, "2001:db8:1:2:3:4:5:6")
	macros.Set(gomilter.MacroTlsVersion, "TLSv1.3")
	sess, err := c.Session(macros)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Conn("client.example.org", gomilter.FamilyInet6, 40000, "2001:db8:1:2:3:4:5:6"); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Helo("client.example.org"); err != nil {
		t.Fatal(err)
	}
	m := &mta{t: t, sess: sess}
	r := m.send("<a@example.org>", []string{"<bob@example.net>"}, message("hi"))
	if v, _ := r.header("X-Conn"); v != "2001:db8:1:2:3:4:5:6 tls=true listener=milter" {
		t.Fatalf("facts from the MTA: X-Conn %q, mods %v", v, r.mods)
	}
	r = m.send("<news@grey.example>", []string{"<bob@example.net>"}, message("hi"))
	if r.stage != "rcpt" || r.act.SMTPCode != 451 {
		t.Fatalf("greylisted: %s %+v", r.stage, r.act)
	}
	// An IPv4 client on an IPv6 socket is the IPv4 address it is.
	sess2, err := c.Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer sess2.Close()
	if _, err := sess2.Conn("client.example.org", gomilter.FamilyInet6, 40000, "::ffff:192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := sess2.Helo("client.example.org"); err != nil {
		t.Fatal(err)
	}
	m = &mta{t: t, sess: sess2}
	r = m.send("<a@example.org>", []string{"<bob@example.net>"}, message("hi"))
	if v, _ := r.header("X-Conn"); v != "192.0.2.7 tls=false listener=milter" {
		t.Fatalf("IPv4-mapped client: X-Conn %q", v)
	}
}

// TestOutboundTaggedSigned: an outbound rule that tags the subject, on
// mail that is DKIM-signed: the signature covers the subject as
// delivered, the tagged one.
func TestOutboundTaggedSigned(t *testing.T) {
	pub, signer := testSigner(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "outbound.yaml"), []byte(`pipeline: outbound
rules:
  - name: external
    when: true
    tag: "[EXT]"
`), 0o644)
	set, err := rules.Load(dir, rules.Options{State: engine.NewMemoryState()})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Pipeline: set.Pipeline, AuthservID: "mx.example.net", Signer: signer, Logger: slog.New(slog.DiscardHandler)})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	m := dialMTA(t, l.Addr().String(), "alice@example.org")
	r := m.send("<alice@example.org>", []string{"<x@remote.example>"}, message("report"))
	sig, ok := r.header("DKIM-Signature")
	if r.act.Type != gomilter.ActionAccept || !ok || !hasMod(r, gomilter.ActionChangeHeader, "[EXT] report") {
		t.Fatalf("outbound tagged: %+v %v", r.act, r.mods)
	}
	delivered := "DKIM-Signature: " + strings.ReplaceAll(sig, "\n", "\r\n") + "\r\n" + message("[EXT] report")
	verifs, err := msgdkim.VerifyWithOptions(strings.NewReader(delivered), &msgdkim.VerifyOptions{
		LookupTXT: func(string) ([]string, error) {
			return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
		}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
		t.Fatalf("signature does not verify over the tagged message: %v %+v", err, verifs)
	}
}

// testSigner is a DKIM signer for example.org (selector s1) with a new
// Ed25519 key, and the key's public half to verify with.
func testSigner(t *testing.T) (ed25519.PublicKey, *dkim.Signer) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := dkim.NewSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.Add("example.org", "s1", key); err != nil {
		t.Fatal(err)
	}
	return pub, signer
}
