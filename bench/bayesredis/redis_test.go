// Package bayesredis measures Bayes classification with the token counts
// on a real redis-server (state.redis, shared by several nodes) against the
// embedded model in memory, on the same training and the same message:
// latency per message with one caller, and throughput with many (an MX
// classifies many messages at once).
//
//	go test ./bench/bayesredis -run '^$' -bench . -benchtime 2000x
package bayesredis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/state/redistest"
	"github.com/sluicemail/sluice/stages/bayes"
)

// vocab is a made-up language big enough that the model holds tens of
// thousands of tokens, as a trained one does.
var vocab = func() []string {
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, 6000)
	for i := range words {
		b := make([]byte, 4+r.IntN(6))
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		words[i] = string(b)
	}
	return words
}()

// message is a ~5 KB message of n's kind: spam draws from one half of the
// vocabulary, ham from the other, both from a shared middle.
func message(spam bool, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 3))
	lo := 0
	if spam {
		lo = 2000
	}
	var body []string
	for range 700 {
		body = append(body, vocab[lo+r.IntN(4000)])
	}
	return fmt.Appendf(nil, "From: <s%d@example.org>\r\nTo: <alice@example.net>\r\nSubject: %s\r\nMessage-ID: <%d@bench>\r\n\r\n%s\r\n",
		n, strings.Join(body[:6], " "), n, strings.Join(body, " "))
}

func train(b *testing.B, m *bayes.Model) {
	for i := range 500 {
		if _, err := m.Learn(message(true, i), bayes.Spam); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Learn(message(false, 10000+i), bayes.Ham); err != nil {
			b.Fatal(err)
		}
	}
}

func classify(b *testing.B, m *bayes.Model) {
	msg := engine.NewMessage(engine.Envelope{}, message(true, 99999))
	b.SetBytes(int64(len(msg.Raw)))
	b.ResetTimer()
	b.ReportMetric(float64(len(m.Tokens(msg.Raw))), "tokens/msg")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := m.Classify(msg); err != nil || res.Spam < 0.9 {
				b.Errorf("classified %.3f, %v", res.Spam, err)
			}
		}
	})
}

// models are the two models trained alike.
type models struct {
	embedded, redis *bayes.Model
}

// setup trains both; the redis-server lives as long as the benchmark b.
func setup(b *testing.B) models {
	var models models
	models.embedded = bayes.NewModel(bayes.NewMemoryStore())
	train(b, models.embedded)
	srv := redistest.Start(b)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true, PoolSize: 32})
	models.redis = bayes.NewModel(bayes.NewRedisStore(c, "bench", time.Second, bayes.NewMemoryStore()))
	start := time.Now()
	train(b, models.redis)
	b.Logf("trained 1000 messages on Redis in %v (%.2f ms per learn)", time.Since(start), float64(time.Since(start).Microseconds())/1000/1000)
	return models
}

func BenchmarkClassify(b *testing.B) {
	models := setup(b)
	for _, par := range []int{1, 8} {
		for _, c := range []struct {
			name string
			m    *bayes.Model
		}{{"embedded", models.embedded}, {"redis", models.redis}} {
			b.Run(fmt.Sprintf("%s/callers=%d", c.name, par), func(b *testing.B) {
				// RunParallel starts par × GOMAXPROCS goroutines; par 1
				// on one proc is a single caller's latency.
				b.SetParallelism(par)
				classify(b, c.m)
			})
		}
	}
}

func BenchmarkLearnRedis(b *testing.B) {
	models := setup(b)
	i := 0
	for b.Loop() {
		i++
		if _, err := models.redis.Learn(message(i%2 == 0, 50000+i), bayes.Class(1+i%2)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrainRedis is `sluice train` on the shared counts: learns one
// by one (RedisStore, one script run per message) against batches of
// several messages per script run (RedisBatch, as `sluice train` sends
// them), each on an empty model so that every learn counts. The time per
// op is per message learnt, the final flush included.
//
//	go test ./bench/bayesredis -run '^$' -bench TrainRedis -benchtime 400x
func BenchmarkTrainRedis(b *testing.B) {
	srv := redistest.Start(b)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
	defer c.Close()
	for _, size := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			rs := bayes.NewRedisStore(c, fmt.Sprintf("train-%d", size), time.Second, bayes.NewMemoryStore())
			var store bayes.Store = rs
			if size > 1 {
				store = rs.Batched(size)
			}
			m := bayes.NewModel(store)
			cpu := redisCPU(b, c)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Learn(message(i%2 == 0, 70000+i), bayes.Class(1+i%2)); err != nil {
					b.Fatal(err)
				}
			}
			if err := m.Save(); err != nil {
				b.Fatal(err)
			}
			// redis-server's own CPU per learn: on a loaded machine the
			// wall time mostly measures the scheduler.
			b.ReportMetric((redisCPU(b, c)-cpu)*1000/float64(b.N), "redis-cpu-ms/op")
		})
	}
}

// redisCPU is the CPU time redis-server has used, in seconds (INFO cpu).
func redisCPU(b *testing.B, c *redis.Client) float64 {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(info, "\r\n") {
		name, v, _ := strings.Cut(line, ":")
		if name == "used_cpu_sys" || name == "used_cpu_user" {
			x, _ := strconv.ParseFloat(v, 64)
			sum += x
		}
	}
	return sum
}
