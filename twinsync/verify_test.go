package twinsync_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

// TestVerifyLive_WhileTelemetryFlows runs rebuild --verify's check beside a
// running worker while a producer keeps changing every machine's state: the
// replay stops at the live states' own log position, so a clean system
// verifies clean every time, and the check still sees a real difference.
func TestVerifyLive_WhileTelemetryFlows(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	m := mustModel(t)
	s := newStores()
	script := machinesScript(m, 5)
	produce(t, addr, "telemetry", script)
	// Every partition has live state before the checks: a partition with
	// none is replayed whole, so a wiped state still shows.
	// Batches wait up to 300 ms: the live state stays behind the log's end.
	w, err := twinsync.NewWorker(twinsync.Config{Brokers: addr, Group: "verify-live", Model: m,
		States: s.states, History: s.history, Events: s.events, Bus: s.bus, BatchWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bg := &bgWorker{w: w, done: make(chan error, 1)}
	wctx, cancel := context.WithCancel(context.Background())
	bg.cancel = cancel
	go func() { bg.done <- w.Run(wctx) }()
	t.Cleanup(func() { bg.stop(t) })
	waitMessages(t, int64(len(script)), bg)

	ctx, stop := context.WithCancel(context.Background())
	produced := make(chan int, 1)
	go func() {
		n := 0
		defer func() { produced <- n }()
		for round := 5; ctx.Err() == nil; round++ {
			var batch []msg
			for _, a := range m.Assets() {
				if t := m.Type(a.Type); t != nil && t.Signal("speed_units_per_min") != nil {
					batch = append(batch, msg{a.ID, curated(a.ID, "speed_units_per_min", strconv.Itoa(100+round%50), time.Duration(round)*10*time.Second)})
				}
			}
			produce(t, addr, "telemetry", batch)
			n += len(batch)
		}
	}()

	ids := make([]string, 0, len(m.Assets()))
	for _, a := range m.Assets() {
		ids = append(ids, a.ID)
	}
	cfg := twinsync.RebuildConfig{Brokers: addr, Model: m}
	for i := range 3 {
		t.Run("while flowing "+strconv.Itoa(i), func(t *testing.T) {
			diffs, rebuilt, err := twinsync.VerifyLive(context.Background(), cfg, s.states, ids)
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) > 0 {
				t.Errorf("%d differences from a clean live state, e.g. %v", len(diffs), diffs[0])
			}
			if rebuilt.Messages == 0 {
				t.Error("nothing replayed")
			}
		})
	}
	stop()
	n := <-produced
	if n == 0 {
		t.Fatal("the producer produced nothing during the checks")
	}
	waitMessages(t, int64(len(script)+n), bg) // nothing in flight to overwrite the tampering

	t.Run("a real difference", func(t *testing.T) {
		sts, err := s.states.GetStates(context.Background(), []string{l3ID})
		if err != nil || sts[0] == nil {
			t.Fatalf("line3 state: %v %v", sts, err)
		}
		st := sts[0]
		st.Product = "TAMPERED"
		if err := s.states.PutStates(context.Background(), []*twin.State{st}); err != nil {
			t.Fatal(err)
		}
		diffs, _, err := twinsync.VerifyLive(context.Background(), cfg, s.states, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) != 1 || diffs[0].Asset != l3ID || diffs[0].Field != "product" {
			t.Errorf("%d differences (%v), want line3's product alone", len(diffs), diffs[:min(len(diffs), 3)])
		}
	})
}
