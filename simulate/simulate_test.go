package simulate_test

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/goleak"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/simulate"
)

// TestRun checks that the simulated telemetry decodes cleanly against the
// model, covers every asset with signals, and uses the raw signal map too.
func TestRun(t *testing.T) {
	opts := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opts) })
	addr := testenv.Kafka(t)
	model := testmodel.Demo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if err := simulate.Run(ctx, simulate.Config{Brokers: addr, Model: model, Rate: 100, Seed: 1}); err != nil {
		t.Fatal(err)
	}

	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": addr, "group.id": "simulate-test",
		"auto.offset.reset": "earliest", "enable.metrics.push": false, "enable.partition.eof": true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe("telemetry", nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]bool{}
	raw := 0
	eof := map[int32]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(eof) < 6 && time.Now().Before(deadline) {
		switch e := c.Poll(100).(type) {
		case *kafka.Message:
			samples, rejects := ingest.Decode(model, e.Value)
			if len(rejects) > 0 {
				t.Fatalf("simulated message %s rejected: %v", e.Value, rejects)
			}
			for _, s := range samples {
				if string(e.Key) != s.Asset {
					t.Fatalf("message key %q carries a sample of %s", e.Key, s.Asset)
				}
				if s.Quality == twin.QualityBad {
					t.Errorf("simulated %s/%s = %v is out of range", s.Asset, s.Signal, s.Value)
				}
				if seen[s.Asset] == nil {
					seen[s.Asset] = map[string]bool{}
				}
				seen[s.Asset][s.Signal] = true
			}
			if len(e.Value) > 0 && containsDevice(e.Value) {
				raw++
			}
		case kafka.PartitionEOF:
			eof[e.Partition] = true
		}
	}
	for _, a := range model.Assets() {
		typ := model.Type(a.Type)
		if typ == nil || len(typ.Signals) == 0 {
			continue
		}
		for _, sig := range typ.Signals {
			if !seen[a.ID][sig.Name] {
				t.Errorf("no %s sample for %s", sig.Name, a.ID)
			}
		}
	}
	if raw == 0 {
		t.Error("no raw device/tag message")
	}
}

func containsDevice(b []byte) bool {
	for i := 0; i+8 < len(b); i++ {
		if string(b[i:i+8]) == `"device"` {
			return true
		}
	}
	return false
}
