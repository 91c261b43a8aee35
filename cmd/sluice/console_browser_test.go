package main

import (
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/smtp"
)

// sendRaw delivers a message given whole over the MX listener.
func (e *e2e) sendRaw(from, to, msg string) error {
	c, err := gosmtp.Dial(e.addr(smtp.MX))
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, []string{to}, strings.NewReader(msg))
}

// findChromium finds Debian's chromium; in CI its absence is a failure.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return requireTool(t, "chromium")
}

// browser starts one headless Chromium for all the subtests, recording
// every JavaScript dialog: an alert is what an XSS would show; a confirm
// (the console's "are you sure") is accepted.
func browser(t *testing.T) (context.Context, *dialogLog) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(findChromium(t)),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("headless", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser now, without a timeout
		t.Fatalf("starting chromium: %v", err)
	}
	log := &dialogLog{}
	opening := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range opening {
			if err != nil {
				return
			}
			log.add(string(ev.Type) + ": " + ev.Message)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: ev.Type == page.DialogTypeConfirm})
		}
	}()
	return ctx, log
}

// dialogLog records the dialogs the pages opened.
type dialogLog struct {
	mu   sync.Mutex
	seen []string
}

func (d *dialogLog) add(s string) {
	d.mu.Lock()
	d.seen = append(d.seen, s)
	d.mu.Unlock()
}

func (d *dialogLog) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.seen...)
}

// inBrowser runs browser steps with a bound, failing the test on error.
func inBrowser(t *testing.T, ctx context.Context, within time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one browser action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestConsoleInBrowser drives the console with a real browser against a
// real server: SMTP in, IMAP out, the page in between.
func TestConsoleInBrowser(t *testing.T) {
	ctx, dialogs := browser(t)
	e := newE2E(t, e2eInbound)
	if err := e.in.accounts.SetAdmin("alice@example.net", true); err != nil {
		t.Fatal(err)
	}
	base := "http://" + e.bound("admin")
	const slow = 30 * time.Second // page loads on a loaded CI machine
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	xpath := func(s string) chromedp.Search { return chromedp.Search(s) }

	t.Run("wrong password refused", func(t *testing.T) {
		inBrowser(t, ctx, slow, "login page",
			chromedp.Navigate(base+"/login"),
			chromedp.SendKeys(css(`input[name=username]`), "alice@example.net"),
			chromedp.SendKeys(css(`input[name=password]`), "not-the-password"),
			chromedp.Submit(css(`input[name=password]`)),
			chromedp.WaitVisible(css(`p.error`)))
		if msg := value(t, ctx, "error", chromedp.Evaluate[string](`document.querySelector("p.error").textContent`)); !strings.Contains(msg, "Wrong user name or password") {
			t.Errorf("message: %q", msg)
		}
	})

	t.Run("login", func(t *testing.T) {
		inBrowser(t, ctx, slow, "login",
			chromedp.Navigate(base+"/login"),
			chromedp.SendKeys(css(`input[name=username]`), "alice@example.net"),
			chromedp.SendKeys(css(`input[name=password]`), "password1"),
			chromedp.Submit(css(`input[name=password]`)),
			chromedp.WaitVisible(css(`svg.chart`)))
		if h1 := value(t, ctx, "heading", chromedp.Evaluate[string](`document.querySelector("h1").textContent`)); h1 != "Overview" {
			t.Errorf("after login: %q", h1)
		}
		main := value(t, ctx, "overview", chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		for _, want := range []string{"dns\tok", "disk\tok", "data free", "certificate\texpires"} {
			if !strings.Contains(main, want) {
				t.Errorf("the overview lacks %q:\n%s", want, main)
			}
		}
	})

	t.Run("delivered message appears live and explains itself", func(t *testing.T) {
		inBrowser(t, ctx, slow, "verdicts page", chromedp.Navigate(base+"/verdicts"), chromedp.WaitVisible(css(`#verdicts[data-live="open"]`)))
		if err := e.send("friend@example.org", "alice@example.net", "live viagra offer"); err != nil {
			t.Fatal(err)
		}
		sent := time.Now() // the 250 is in
		inBrowser(t, ctx, 2*time.Second, "the row within 2 s of the 250",
			chromedp.WaitVisible(xpath(`//tbody/tr[contains(., "live viagra offer")]`)))
		t.Logf("figure: SSE latency, SMTP 250 to row on the page: %s", time.Since(sent).Round(time.Millisecond))
		inBrowser(t, ctx, slow, "the explanation",
			chromedp.Click(xpath(`//tbody/tr[contains(., "live viagra offer")]//a`)),
			chromedp.WaitVisible(css(`#fired`)))
		got := value(t, ctx, "explanation", chromedp.Evaluate[[]string](`["#fired", "pre.facts", "#story"].map(s => document.querySelector(s).textContent)`))
		fired, facts, story := got[0], got[1], got[2]
		if !strings.Contains(fired, "spammy") || !strings.Contains(facts, `"subject": "live viagra offer"`) {
			t.Errorf("explanation: rules %q, facts %q", fired, facts)
		}
		// The journal's story, as `sluice explain` prints it.
		if !strings.Contains(story, "Rules that fired, in order:\n  spammy (") || !strings.Contains(story, "Subject: live viagra offer") {
			t.Errorf("the journal's story on the page:\n%s", story)
		}
		// The console's verdict is the journal's record: `sluice explain ID`.
		m := regexp.MustCompile(`journal=(\S+)`).FindStringSubmatch(e.verdictLine("rules=[spammy]"))
		path := value(t, ctx, "location", chromedp.Evaluate[string](`location.pathname`))
		if m == nil || m[1] == `""` || path != "/verdicts/"+m[1] {
			t.Errorf("verdict page %s, journal record %v", path, m)
		}
	})

	t.Run("hostile headers render as text", func(t *testing.T) {
		inBrowser(t, ctx, slow, "verdicts page", chromedp.Navigate(base+"/verdicts"), chromedp.WaitVisible(css(`#verdicts[data-live="open"]`)))
		subject := `<script>alert("xss-subject")</script>`
		from := `"<img src=x onerror=alert('xss-from')>" <evil@example.org>`
		msg := "From: " + from + "\r\nTo: alice@example.net\r\nSubject: " + subject + "\r\n\r\nhello\r\n"
		if err := e.sendRaw("evil@example.org", "alice@example.net", msg); err != nil {
			t.Fatal(err)
		}
		row := xpath(`//tbody/tr[contains(., "xss-subject")]`)
		inBrowser(t, ctx, slow, "the live row", chromedp.WaitVisible(row))
		if got := value(t, ctx, "row", chromedp.Text(row)); !strings.Contains(got, subject) {
			t.Errorf("live row %q lacks the subject as text", got)
		}
		inBrowser(t, ctx, slow, "the verdict page",
			chromedp.Click(xpath(`//tbody/tr[contains(., "xss-subject")]//a`)),
			chromedp.WaitVisible(css(`#hdr-subject`)))
		// Read in one evaluation (a node id can go stale between queries).
		shown := value(t, ctx, "header cells", chromedp.Evaluate[[]string](`["hdr-subject", "hdr-from"].map(id => document.getElementById(id).textContent)`))
		shownSubject, shownFrom := shown[0], shown[1]
		if shownSubject != subject || !strings.Contains(shownFrom, "<img src=x") {
			t.Errorf("shown as %q and %q", shownSubject, shownFrom)
		}
		if n := value(t, ctx, "images", chromedp.Evaluate[int](`document.querySelectorAll("img").length`)); n != 0 {
			t.Errorf("%d <img> elements made from a header", n)
		}
		// the list again, rendered by the server this time
		inBrowser(t, ctx, slow, "reload", chromedp.Navigate(base+"/verdicts"), chromedp.WaitVisible(row))
		for _, d := range dialogs.all() {
			if strings.HasPrefix(d, "alert") {
				t.Errorf("a script ran: %s", d)
			}
		}
	})

	t.Run("release a quarantined message, read it over IMAP", func(t *testing.T) {
		if err := e.send("friend@example.org", "alice@example.net", "HOLD for review"); err != nil {
			t.Fatal(err)
		}
		// The message is held once the queue has taken it: wait for that,
		// then the page lists it.
		for deadline := time.Now().Add(slow); ; time.Sleep(20 * time.Millisecond) {
			if held, _ := queue.ListQuarantine(e.in.queue.QuarantineDir()); len(held) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the message was not held")
			}
		}
		inBrowser(t, ctx, slow, "release",
			chromedp.Navigate(base+"/quarantine"),
			chromedp.WaitVisible(css(`#held form[action$="/release"] button`)),
			chromedp.Click(css(`#held form[action$="/release"] button`)),
			chromedp.WaitVisible(xpath(`//td[contains(., "Nothing is held")]`)))
		c := e.dialIMAPS()
		if err := c.Login("alice@example.net", "password1").Wait(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(slow)
		for {
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			res, err := c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "HOLD for review"}}}, nil).Wait()
			if err != nil {
				t.Fatal(err)
			}
			if len(res.AllSeqNums()) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the released message is not in the INBOX over IMAP")
			}
			time.Sleep(100 * time.Millisecond)
		}
		confirmed := false
		for _, d := range dialogs.all() {
			confirmed = confirmed || strings.HasPrefix(d, "confirm: Deliver this message")
		}
		if !confirmed {
			t.Errorf("no confirmation asked; dialogs %q", dialogs.all())
		}
	})

	t.Run("try a pasted message", func(t *testing.T) {
		inBrowser(t, ctx, slow, "try",
			chromedp.Navigate(base+"/try"),
			chromedp.SetValue(css(`textarea[name=message]`), "From: a@example.org\nTo: alice@example.net\nSubject: BUY NOW cheap\n\nhello\n"),
			chromedp.SetValue(css(`input[name=to]`), "alice@example.net"),
			chromedp.Click(css(`form.try button`)),
			chromedp.WaitVisible(css(`#result`)))
		got := value(t, ctx, "result", chromedp.Evaluate[[]string](`["#result", "#fired"].map(s => document.querySelector(s).textContent)`))
		result, fired := got[0], got[1]
		if !strings.Contains(result, "reject") || !strings.Contains(fired, "buy-now") {
			t.Errorf("try: %q / %q", result, fired)
		}
	})

	t.Run("readable on a phone", func(t *testing.T) {
		// No page may be wider than a 375 px screen: a long rule line, a
		// long path or a long header must wrap or scroll in its own box.
		inBrowser(t, ctx, slow, "phone screen", chromedp.EmulateViewport(375, 800))
		defer inBrowser(t, ctx, slow, "desktop screen", chromedp.EmulateViewport(1280, 900))
		for _, path := range []string{"/", "/verdicts", "/try", "/queue", "/quarantine", "/rules"} {
			inBrowser(t, ctx, slow, path, chromedp.Navigate(base+path), chromedp.WaitVisible(css(`main`)))
			// Open the rule files, and list what sticks out of the screen.
			wide := value(t, ctx, path, chromedp.Evaluate[[]string](`(() => {
				document.querySelectorAll("details").forEach(d => d.open = true);
				const w = document.documentElement.clientWidth, out = [];
				for (const el of document.querySelectorAll("body *")) {
					const r = el.getBoundingClientRect();
					if (r.right > w + 1) { out.push(el.tagName + "." + el.className + " right=" + Math.round(r.right)); }
				}
				if (document.documentElement.scrollWidth > w) { out.push("page scrollWidth=" + document.documentElement.scrollWidth); }
				return out;
			})()`))
			if len(wide) > 0 {
				t.Errorf("%s is wider than a 375 px screen: %q", path, wide)
			}
		}
	})

	t.Run("POST without the CSRF token is refused", func(t *testing.T) {
		status := value(t, ctx, "fetch", chromedp.Evaluate[int](`fetch("/queue/x/retry", {method: "POST"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
		if status != http.StatusForbidden {
			t.Errorf("status %d, want 403", status)
		}
	})

	t.Run("APIs without a session are refused", func(t *testing.T) {
		for _, path := range []string{"/verdicts", "/queue", "/quarantine", "/events"} {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: %d", path, resp.StatusCode)
			}
		}
	})

	t.Run("figures", func(t *testing.T) {
		inBrowser(t, ctx, slow, "load", chromedp.Navigate(base+"/verdicts"), chromedp.WaitVisible(css(`#verdicts`)))
		fcp := value(t, ctx, "paint", chromedp.Evaluate[float64](`new Promise(done => {
			new PerformanceObserver(list => {
				const e = list.getEntriesByName("first-contentful-paint")[0];
				if (e) { done(e.startTime); }
			}).observe({type: "paint", buffered: true});
			setTimeout(() => done(performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd), 2000);
		})`, chromedp.EvalAwaitPromise))
		bytes := value(t, ctx, "weight", chromedp.Evaluate[int](`performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation")).reduce((n, e) => n + (e.decodedBodySize || 0), 0)`))
		t.Logf("figure: /verdicts first contentful paint %.0f ms, page weight %d bytes (HTML, CSS, JS, uncompressed)", fcp, bytes)
	})
}
