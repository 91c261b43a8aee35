package journal

import (
	"crypto/rand"
	"strconv"
	"strings"
	"time"
)

// NewID returns a journal ID: twelve characters of base 36, the first
// eight the time in milliseconds (so IDs sort by time), the last four
// random (so IDs of one millisecond differ).
func NewID() string {
	return newID(time.Now())
}

func newID(t time.Time) string {
	ms := strconv.FormatInt(t.UnixMilli(), 36)
	var b [4]byte
	rand.Read(b[:])
	var r strings.Builder
	for _, c := range b {
		r.WriteByte("0123456789abcdefghijklmnopqrstuvwxyz"[int(c)%36])
	}
	return strings.ToUpper(pad(ms, 8) + r.String())
}

func pad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
