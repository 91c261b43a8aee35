package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Size is a number of bytes written in the config as an integer or with a
// unit: "25MB", "512 KiB", "1G". Decimal and binary units are both read as
// powers of 1024, which is what people mean when they size mail.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize reads a size such as "25MB" or "1048576".
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q (want a number of bytes or e.g. 25MB)", s)
	}
	return Size(n * float64(mult)), nil
}

// UnmarshalYAML decodes a scalar node, naming its line and column in
// errors.
func (s *Size) UnmarshalYAML(n ast.Node) error {
	v, err := ParseSize(scalar(n))
	if err != nil {
		return posErr(n, err)
	}
	*s = v
	return nil
}

// String prints the size in the largest whole unit.
func (s Size) String() string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if int64(s) >= u.mult && int64(s)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(s)/u.mult, u.name)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Duration is a time.Duration written as "30s", "5m", "2h" or, because
// queue lifetimes are counted in days, "5d".
type Duration time.Duration

// ParseDuration reads a duration, accepting a "d" (day) suffix.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 2h, 5d)", s)
	}
	return Duration(d), nil
}

// UnmarshalYAML decodes a scalar node, naming its line and column in
// errors.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	v, err := ParseDuration(scalar(n))
	if err != nil {
		return posErr(n, err)
	}
	*d = v
	return nil
}

func scalar(n ast.Node) string {
	if s, ok := n.(ast.ScalarNode); ok {
		return fmt.Sprint(s.GetValue())
	}
	return n.String()
}

func posErr(n ast.Node, err error) error {
	if tk := n.GetToken(); tk != nil {
		return fmt.Errorf("[%d:%d] %w", tk.Position.Line, tk.Position.Column, err)
	}
	return err
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String prints the duration as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }
