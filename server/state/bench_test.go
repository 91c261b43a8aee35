package state

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/state/redistest"
)

// The cost of one state decision, per store: what a rate_exceeded call or
// a greylist rule adds to a message.
//
//	go test -run '^$' -bench . -benchtime 2000x ./server/state
func BenchmarkState(b *testing.B) {
	stores := map[string]func(b *testing.B) Store{
		"embedded": func(b *testing.B) Store {
			e, err := OpenEmbedded(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { e.Close() })
			return e
		},
		"redis": func(b *testing.B) Store {
			srv := redistest.Start(b)
			r := OpenRedis(RedisOptions{Addr: srv.Addr})
			b.Cleanup(func() { r.Close() })
			return r
		},
	}
	for _, name := range []string{"embedded", "redis"} {
		s := stores[name](b)
		ctx := context.Background()
		lim := engine.Rate{Count: 1 << 30, Per: time.Hour}
		set := engine.GreylistSettings{}.WithDefaults()
		b.Run(name+"/rate", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, _, err := s.RateHit(ctx, "user|1h|u"+strconv.Itoa(i%100), lim, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/greylist", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				t := engine.Triplet{Network: "192.0.2.0/24", Sender: "s" + strconv.Itoa(i) + "@x", Rcpt: "r@y"}
				if _, err := s.Greylist(ctx, t, set); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/rate-20-parallel", func(b *testing.B) {
			b.SetParallelism(10) // 20 goroutines on 2 CPUs, as 20 SMTP sessions
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, _, err := s.RateHit(ctx, "ip|1h|"+strconv.Itoa(i%100), lim, 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
