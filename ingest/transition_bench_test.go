package ingest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// benchSamples is a running line's stream: one message per second carrying
// speed and temperature, with a fault raised and cleared every 50 s.
func benchSamples(n int) []twin.Sample {
	out := make([]twin.Sample, 0, n)
	for i := 0; len(out) < n; i++ {
		sec := float64(1000 + i)
		out = append(out, speed(sec, float64(100+i%7)), temp(sec, float64(20+i%3)))
		if i%50 == 25 {
			out = append(out, faults(sec, "E1"))
		} else if i%50 == 30 {
			out = append(out, faults(sec))
		}
	}
	for i := range out {
		out[i].Pos = twin.LogPos{Log: "telemetry@bench", Offset: int64(i)}
	}
	return out[:n]
}

// BenchmarkTransition applies a batch of 100 samples of one asset to a warm
// state, with the rules as Go closures and as the demo model's compiled
// expressions; ns/sample is the figure to compare with the ingest target.
func BenchmarkTransition(b *testing.B) {
	m := testmodel.Demo(b)
	plant := m.Asset(line3)
	for _, bc := range []struct {
		name string
		a    *twin.Asset
		typ  *twin.AssetType
	}{
		{"closures", line, lineType(0)},
		{"plant", plant, m.Type(plant.Type)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			warm := []twin.Sample{power(0, true), speed(0, 100), faults(0), product(0, "P1"), batch(0, "B1"), temp(0, 20)}
			for i := range warm {
				warm[i].Asset = bc.a.ID
			}
			st, _ := ingest.Transition(bc.a, bc.typ, nil, warm)
			samples := benchSamples(100)
			for i := range samples {
				samples[i].Asset = bc.a.ID
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ingest.Transition(bc.a, bc.typ, st, samples)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(samples)), "ns/sample")
		})
	}
}

// BenchmarkDecode decodes curated and raw messages, single and as an array.
func BenchmarkDecode(b *testing.B) {
	m := testmodel.Demo(b)
	ts := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	curated := fmt.Sprintf(`{"asset":%q,"signal":"speed_units_per_min","value":218,"ts":%q}`, line3, ts.Format(time.RFC3339))
	raw := `{"device":"plc-17","tag":"1024","value":542,"ts":1795500000123}`
	var elems []string
	for i := range 10 {
		if i%2 == 0 {
			elems = append(elems, curated)
		} else {
			elems = append(elems, raw)
		}
	}
	array := "[" + strings.Join(elems, ",") + "]"
	for _, bc := range []struct{ name, msg string }{{"curated", curated}, {"raw", raw}, {"array10", array}} {
		b.Run(bc.name, func(b *testing.B) {
			msg := []byte(bc.msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, r := ingest.Decode(m, msg); len(r) != 0 {
					b.Fatal(r)
				}
			}
		})
	}
}
