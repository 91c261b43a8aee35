package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/queue"
)

// hostileMessage has markup in its Subject and From, as a spammer would
// send to whoever reads the queue in a browser.
const hostileMessage = "From: \"<img src=x onerror=alert(1)>\" <a@example.org>\r\n" +
	"To: <b@example.net>\r\n" +
	"Subject: <script>alert(\"subject\")</script>\r\n" +
	"\r\n" +
	"the body is not shown\r\n"

// The queue and the quarantine show a message's header on a page of its
// own, as text however hostile; the list links to it; JSON clients get
// the same header as a string.
func TestQueuedAndHeldHeadersShown(t *testing.T) {
	f := newFixture(t)
	q := f.opts.Queue
	// A held message: put with the quarantine flag, then let the queue
	// move it to the quarantine area.
	heldID, err := q.Put(context.Background(), queue.Envelope{From: `x"><b>@example.org`, Quarantine: true,
		Rcpt: []queue.Recipient{{Addr: "b@example.net", Local: true, User: "b@example.net"}}}, []byte(hostileMessage))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { q.Run(ctx); close(ran) }()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if held, _ := queue.ListQuarantine(q.QuarantineDir()); len(held) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the message was not quarantined")
		}
	}
	cancel()
	<-ran
	// A queued one, with the queue stopped so that it stays.
	queuedID, err := q.Put(context.Background(), queue.Envelope{From: `x"><b>@example.org`,
		Rcpt: []queue.Recipient{{Addr: "b@example.net", Local: true, User: "b@example.net"}}}, []byte(hostileMessage))
	if err != nil {
		t.Fatal(err)
	}

	c := f.client()
	f.login(c, "admin@example.net", "password1")
	_, list, _ := do(t, c, get(f.srv.URL+"/queue"))
	if !strings.Contains(list, `<a href="/queue/`+queuedID+`">`) {
		t.Errorf("the queue list does not link to the message:\n%s", list)
	}
	for _, path := range []string{"/queue/" + queuedID, "/quarantine/" + heldID} {
		code, body, h := do(t, c, get(f.srv.URL+path))
		if code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, `"><b>`) {
			t.Errorf("%s: markup from the message reached the page unescaped:\n%s", path, body)
		}
		for _, want := range []string{"Subject: &lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;",
			"From: &#34;&lt;img src=x onerror=alert(1)&gt;&#34; &lt;a@example.org&gt;", "x&#34;&gt;&lt;b&gt;@example.org"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q:\n%s", path, want, body)
			}
		}
		if strings.Contains(body, "the body is not shown") {
			t.Errorf("%s shows the body", path)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, h.Get("Content-Security-Policy"))
		}
		req := get(f.srv.URL + path)
		req.Header.Set("Accept", "application/json")
		_, js, _ := do(t, c, req)
		var d struct{ Header string }
		if err := json.Unmarshal([]byte(js), &d); err != nil || !strings.Contains(d.Header, `Subject: <script>alert("subject")</script>`) {
			t.Errorf("%s as JSON: %v %s", path, err, js)
		}
		// Without a session: refused, not shown.
		req = get(f.srv.URL + path)
		req.Header.Set("Accept", "application/json")
		if code, _, _ := do(t, f.client(), req); code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d", path, code)
		}
	}
	for _, path := range []string{"/queue/00000000000000000", "/quarantine/00000000000000000"} {
		if code, _, _ := do(t, c, get(f.srv.URL+path)); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
}
