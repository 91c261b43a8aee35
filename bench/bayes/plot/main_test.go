package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

const input = `online order=shuffle seed=1 feedback=all n=1000 auc_miss=0.1%
curve order=shuffle seed=1 feedback=all learner=a upto=500 n=500 errors=10 error_rate=2.00% fp@0.99=1 fn@0.99=9
curve order=shuffle seed=1 feedback=all learner=a upto=1000 n=500 errors=5 error_rate=1.00% fp@0.99=0 fn@0.99=5
curve order=date seed=1 feedback=all learner=a upto=500 n=500 errors=20 error_rate=4.00% fp@0.99=2 fn@0.99=3
`

// TestPlot: two runs become two polylines in a well-formed SVG, each run's
// points in order and the larger error rate drawn higher.
func TestPlot(t *testing.T) {
	ss, err := parse(strings.NewReader(input), "error_rate")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || len(ss[0].x) != 2 || ss[0].y[0] != 2 || ss[1].name != "order=date seed=1 feedback=all learner=a" {
		t.Fatalf("parsed %+v", ss)
	}
	var b bytes.Buffer
	render(&b, ss, "error_rate")
	svg := b.String()
	d := xml.NewDecoder(strings.NewReader(svg))
	var polylines int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines != 2 {
		t.Errorf("%d polylines, want 2", polylines)
	}
	if !strings.Contains(svg, "order=date") {
		t.Error("legend lacks the second run")
	}
	if _, err := parse(strings.NewReader("curve upto=x error_rate=1%\n"), "error_rate"); err == nil {
		t.Error("a bad upto parsed")
	}
}
