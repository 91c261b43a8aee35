package reports

import (
	"sort"
	"time"
)

// Summary is what `sluice dmarc report` shows of the reports received:
// the reports, and per policy domain and source IP how many messages
// others saw, how many aligned with DKIM and SPF, and what they did.
type Summary struct {
	Reports []ReportLine    `json:"reports"`
	Sources []SourceSummary `json:"sources"`
}

// ReportLine is one report received.
type ReportLine struct {
	Org      string    `json:"org"`
	Domain   string    `json:"domain"`
	ReportID string    `json:"report_id"`
	Begin    time.Time `json:"begin"`
	End      time.Time `json:"end"`
	Messages int64     `json:"messages"`
}

// SourceSummary is one sending IP for one of our domains.
type SourceSummary struct {
	Domain       string           `json:"domain"`
	SourceIP     string           `json:"source_ip"`
	Count        int64            `json:"count"`
	DKIMPass     int64            `json:"dkim_aligned"` // messages whose DKIM aligned and passed
	SPFPass      int64            `json:"spf_aligned"`
	Dispositions map[string]int64 `json:"dispositions"`
	Reporters    []string         `json:"reporters"`
}

// Summarize adds up received reports.
func Summarize(rs []Received) Summary {
	var sum Summary
	by := map[[2]string]*SourceSummary{}
	for _, r := range rs {
		f := r.Feedback
		line := ReportLine{Org: f.Metadata.OrgName, Domain: f.Policy.Domain, ReportID: f.Metadata.ReportID,
			Begin: time.Unix(f.Metadata.DateRange.Begin, 0).UTC(), End: time.Unix(f.Metadata.DateRange.End, 0).UTC()}
		for _, rec := range f.Records {
			line.Messages += rec.Row.Count
			k := [2]string{f.Policy.Domain, rec.Row.SourceIP}
			s := by[k]
			if s == nil {
				s = &SourceSummary{Domain: k[0], SourceIP: k[1], Dispositions: map[string]int64{}}
				by[k] = s
			}
			pe := rec.Row.PolicyEvaluated
			s.Count += rec.Row.Count
			if pe.DKIM == "pass" {
				s.DKIMPass += rec.Row.Count
			}
			if pe.SPF == "pass" {
				s.SPFPass += rec.Row.Count
			}
			s.Dispositions[pe.Disposition] += rec.Row.Count
			if !contains(s.Reporters, f.Metadata.OrgName) {
				s.Reporters = append(s.Reporters, f.Metadata.OrgName)
			}
		}
		sum.Reports = append(sum.Reports, line)
	}
	for _, s := range by {
		sum.Sources = append(sum.Sources, *s)
	}
	sort.Slice(sum.Sources, func(i, j int) bool {
		a, b := sum.Sources[i], sum.Sources[j]
		if a.Domain != b.Domain {
			return a.Domain < b.Domain
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.SourceIP < b.SourceIP
	})
	return sum
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
