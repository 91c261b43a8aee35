// Command plot draws the learning curves that `bench/bayes -online` prints
// (its "curve" lines) as one SVG, with nothing but the standard library:
// error rate per block of messages against messages seen, one line per
// run (order, seed, feedback, learner).
//
//	bench/bayes/run.sh -online -seed 1 > runs.txt
//	go run ./bench/bayes/plot -o curve.svg runs.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// series is one run's curve.
type series struct {
	name string
	x, y []float64 // messages seen, error rate in %
}

func main() {
	out := flag.String("o", "", "the SVG file to write (default: standard output)")
	metric := flag.String("metric", "error_rate", "the curve field to plot: error_rate, or fp@0.99 / fn@0.99 (counts per block)")
	flag.Parse()
	var ins []io.Reader
	for _, p := range flag.Args() {
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "plot:", err)
			os.Exit(1)
		}
		defer f.Close()
		ins = append(ins, f)
	}
	if len(ins) == 0 {
		ins = append(ins, os.Stdin)
	}
	ss, err := parse(io.MultiReader(ins...), *metric)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
	if len(ss) == 0 {
		fmt.Fprintln(os.Stderr, "plot: no curve lines in the input (run bench/bayes -online)")
		os.Exit(1)
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "plot:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	render(bw, ss, *metric)
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

// parse reads the curve lines: "curve k=v k=v ...". The run is named by
// every field that is not a measurement.
func parse(r io.Reader, metric string) ([]*series, error) {
	byName := map[string]*series{}
	var order []string
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "curve" {
			continue
		}
		kv := map[string]string{}
		var name []string
		for _, p := range f[1:] {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not key=value", line, p)
			}
			kv[k] = v
			switch k {
			case "upto", "n", "errors", "error_rate", "fp@0.99", "fn@0.99":
			default:
				name = append(name, p)
			}
		}
		x, err := strconv.ParseFloat(kv["upto"], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: upto: %v", line, err)
		}
		y, err := strconv.ParseFloat(strings.TrimSuffix(kv[metric], "%"), 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %v", line, metric, err)
		}
		key := strings.Join(name, " ")
		s := byName[key]
		if s == nil {
			s = &series{name: key}
			byName[key] = s
			order = append(order, key)
		}
		s.x, s.y = append(s.x, x), append(s.y, y)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]*series, len(order))
	for i, k := range order {
		out[i] = byName[k]
	}
	return out, nil
}

// Plot geometry, in SVG user units.
const (
	width, height = 900, 520
	left, right   = 70, 20
	top, bottom   = 30, 60
	legendLine    = 16
)

var colours = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

func render(w io.Writer, ss []*series, metric string) {
	var xmax, ymax float64
	for _, s := range ss {
		for i := range s.x {
			xmax, ymax = math.Max(xmax, s.x[i]), math.Max(ymax, s.y[i])
		}
	}
	ystep := niceStep(ymax)
	ymax = math.Max(ystep, math.Ceil(ymax/ystep)*ystep)
	xstep := niceStep(xmax)
	plotH := float64(height - top - bottom - legendLine*len(ss))
	plotW := float64(width - left - right)
	px := func(x float64) float64 { return left + x/xmax*plotW }
	py := func(y float64) float64 { return top + plotH - y/ymax*plotH }

	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	unit := " (%)"
	if metric != "error_rate" {
		unit = " (messages per block)"
	}
	fmt.Fprintf(w, `<text x="%d" y="18" font-size="14">%s per block, against messages seen%s</text>`+"\n", left, esc(metric), esc(unit))
	for y := 0.0; y <= ymax+ystep/2; y += ystep {
		fmt.Fprintf(w, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, px(xmax), py(y), py(y))
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, py(y)+4, trim(y))
	}
	for x := 0.0; x <= xmax; x += xstep {
		fmt.Fprintf(w, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", px(x), px(x), py(0), py(ymax))
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(x), py(0)+16, trim(x))
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">messages seen</text>`+"\n", px(xmax/2), py(0)+34)
	for i, s := range ss {
		c := colours[i%len(colours)]
		var pts []string
		for j := range s.x {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.x[j]), py(s.y[j])))
		}
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", c, strings.Join(pts, " "))
		ly := py(0) + 50 + float64(legendLine*i)
		fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", left, left+24, ly-4, ly-4, c)
		fmt.Fprintf(w, `<text x="%d" y="%.1f">%s</text>`+"\n", left+30, ly, esc(s.name))
	}
	fmt.Fprintln(w, "</svg>")
}

// niceStep returns a grid step of 1, 2 or 5 times a power of ten giving
// about five lines up to max.
func niceStep(max float64) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func trim(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
