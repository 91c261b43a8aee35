package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"
)

// exportedNames returns the metric names the server's collectors describe,
// with the series names of histograms (_bucket, _sum, _count).
func exportedNames(t *testing.T, cs []prometheus.Collector) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 1000)
	for _, c := range cs {
		c.Describe(ch)
	}
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{"up": true} // made by Prometheus for every target
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
				names[m[1]+suffix] = true
			}
		}
	}
	return names
}

// checkExpr parses a PromQL expression and checks that every metric it
// reads is one the server exports.
func checkExpr(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	e, err := metricsql.Parse(expr)
	if err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
		return
	}
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		me, ok := x.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		for _, group := range me.LabelFilterss {
			for _, f := range group {
				if f.Label == "__name__" && !names[f.Value] {
					t.Errorf("%s: %q reads %s, which sluice does not export", where, expr, f.Value)
				}
			}
		}
	})
}

// The example alert rules are well-formed Prometheus rule groups: every
// expression parses as PromQL and reads only metrics sluice exports, every
// `for` is a duration, every annotation is a valid template as Prometheus
// expands it; the alerts the docs promise are there.
//
// The PromQL parser is VictoriaMetrics' metricsql (a superset of PromQL,
// three small modules) rather than github.com/prometheus/prometheus, whose
// module would bring in hundreds of packages for one test.
func TestExampleAlertRules(t *testing.T) {
	e := newE2E(t, e2eInbound)
	names := exportedNames(t, e.in.collectors())
	b, err := os.ReadFile("../../examples/monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.UnmarshalWithOptions(b, &file, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]bool{}
	// Prometheus defines these before expanding an annotation.
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}"
	funcs := template.FuncMap{"humanizeDuration": func(any) string { return "" }, "humanize": func(any) string { return "" }}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("incomplete rule %+v", r)
			}
			alerts[r.Alert] = true
			checkExpr(t, r.Alert, r.Expr, names)
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			for k, v := range r.Annotations {
				if _, err := template.New(k).Funcs(funcs).Parse(defs + v); err != nil {
					t.Errorf("%s: annotation %s: %v", r.Alert, k, err)
				}
			}
		}
	}
	for _, want := range []string{"SluiceQueueGrowing", "SluiceDNSFailing", "SluiceDiskLow", "SluiceCertificateExpiring", "SluiceRuleReloadFailed"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

// Every query of the example Grafana dashboard parses and reads metrics
// sluice exports.
func TestExampleDashboard(t *testing.T) {
	e := newE2E(t, e2eInbound)
	names := exportedNames(t, e.in.collectors())
	b, err := os.ReadFile("../../examples/monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	if len(dash.Panels) < 8 {
		t.Errorf("%d panels", len(dash.Panels))
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			checkExpr(t, p.Title, strings.ReplaceAll(tg.Expr, "$instance", ".*"), names)
		}
	}
}
