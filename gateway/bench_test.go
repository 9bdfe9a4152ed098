package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/gateway"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/store/memory"
)

// BenchmarkGetTwin measures GET /twin/{id} through the whole gateway handler
// (routing, id resolution, state read, derived fields, JSON) without the
// network, beside BenchmarkGetTwin/baseline: the direct States.GetStates call
// it wraps. p50/p99 are per-request latencies.
func BenchmarkGetTwin(b *testing.B) {
	ctx := context.Background()
	states := memory.NewStateStore()
	if err := states.PutStates(ctx, []*twin.State{line3State()}); err != nil {
		b.Fatal(err)
	}
	h := newGateway(b, gateway.Config{
		Model:  testmodel.Demo(b),
		States: states,
		Now:    func() time.Time { return now },
	})

	b.Run("baseline=GetStates", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			st, err := states.GetStates(ctx, []string{line3})
			if err != nil || st[0] == nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
	})
	for name, path := range map[string]string{
		"escaped":  "/twin/plant%2Fjkt1%2Fpackaging%2Fline3",
		"pathtail": "/twin/plant/jkt1/packaging/line3",
	} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				w := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(w, req)
				lat = append(lat, time.Since(t0))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			report(b, lat)
		})
	}
}

func report(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
