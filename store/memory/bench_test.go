package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/memory"
)

// BenchmarkHistoryIngest appends batches of 1,000 samples over 100 series in
// time order (as the sync worker writes them) and reports samples/s; the
// target is 150k/s end to end.
func BenchmarkHistoryIngest(b *testing.B) {
	ctx := context.Background()
	h := memory.NewHistoryStore()
	const batch, nseries = 1000, 100
	names := make([]string, nseries)
	for i := range names {
		names[i] = fmt.Sprintf("plant/jkt1/packaging/line%d/machine%d", i%12, i)
	}
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	samples := make([]twin.Sample, batch)
	n := 0
	for b.Loop() {
		for i := range samples {
			samples[i] = twin.Sample{Asset: names[n%nseries], Signal: "press1_bar", TS: t0.Add(time.Duration(n/nseries) * time.Millisecond),
				Value: twin.Number(float64(n % 97)), Quality: twin.QualityGood}
			n++
		}
		if err := h.AppendSamples(ctx, samples); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkHistoryQuery24h1m answers 24 h at 1 minute (AVG) for one series
// sampled every second (86,400 samples).
func BenchmarkHistoryQuery24h1m(b *testing.B) {
	ctx := context.Background()
	h := memory.NewHistoryStore()
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	var samples []twin.Sample
	for i := range 86400 {
		samples = append(samples, twin.Sample{Asset: "a", Signal: "s", TS: t0.Add(time.Duration(i) * time.Second), Value: twin.Number(float64(i % 13)), Quality: twin.QualityGood})
	}
	if err := h.AppendSamples(ctx, samples); err != nil {
		b.Fatal(err)
	}
	q := []twin.HistoryQuery{{Asset: "a", Metric: "s", From: t0, To: t0.Add(24 * time.Hour), Interval: time.Minute, Agg: twin.AggAvg}}
	for b.Loop() {
		s, err := h.QueryHistory(ctx, q)
		if err != nil || len(s[0].Points) != 1440 {
			b.Fatal(err)
		}
	}
}
