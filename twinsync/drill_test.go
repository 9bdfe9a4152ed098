package twinsync_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

// drillMsg is one record of the drill and the reason code its dead letter
// must carry ("" for a good record).
type drillMsg struct {
	msg
	code string
}

// hostile returns the i-th hostile record: every kind a careless device sends.
func hostile(i int, at func(time.Duration) string) drillMsg {
	el := func(asset, signal, value, ts string) string {
		return fmt.Sprintf(`{"asset":%q,"signal":%q,"value":%s,"ts":%q}`, asset, signal, value, ts)
	}
	key := "h" + strconv.Itoa(i)
	if i%2 == 0 {
		key = l3ID // in line with the good records, so a jam would hold them up
	}
	switch {
	case i < 100: // a 2,000-element array naming an unknown asset
		e := el("plant/nope", "x", "1", at(0))
		return drillMsg{msg{key, "[" + strings.Repeat(e+",", 1999) + e + "]"}, "unknown_asset"}
	case i < 120: // near the broker's 1 MB, not JSON
		return drillMsg{msg{key, strings.Repeat("\x00garbage", 999_900/8)}, "too_large"}
	case i < 170: // 20,000 fault codes
		return drillMsg{msg{key, el(l3ID, "fault_codes", codes(20_000), at(0))}, "too_large"}
	case i < 220: // a 100,000-character product
		return drillMsg{msg{key, el(l3ID, "product", `"`+strings.Repeat("P", 100_000)+`"`, at(0))}, "too_large"}
	}
	switch i % 6 {
	case 0:
		return drillMsg{msg{key, el(l3ID, "power_on", "false", "9999-12-31T00:00:00Z")}, "bad_ts"}
	case 1:
		return drillMsg{msg{key, el(l3ID, "product", `"`+strings.Repeat("é", 300)+`"`, at(0))}, "too_large"}
	case 2:
		return drillMsg{msg{key, el(l3ID, "fault_codes", codes(65), at(0))}, "too_large"}
	case 3:
		return drillMsg{msg{key, `{"asset":` + strconv.Itoa(i)}, "bad_json"}
	case 4:
		return drillMsg{msg{key, `{"asset":"` + l3ID + `","signal":"temp1_c","value":-1e999,"ts":"` + at(0) + `"}`}, "non_finite"}
	default:
		return drillMsg{msg{key, el("plant/nope", "speed_units_per_min", "1", at(0))}, "unknown_asset"}
	}
}

// TestWorker_HostileDrill is the drill of issue 8: 10,000 hostile records
// of every kind above, with 100 good ones interleaved, through the
// production client. The worker must stay up and ready, apply every good
// sample, write exactly one dead letter per hostile record with its reason,
// and keep its memory bounded. The peak heap and RSS are logged (the broker
// runs in this process too and holds every record produced).
func TestWorker_HostileDrill(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	at := func(d time.Duration) string { return base.Add(d).Format(time.RFC3339Nano) }

	const hostiles, goods = 10_000, 100
	var script []drillMsg
	for i := range hostiles {
		script = append(script, hostile(i, at))
		if i%(hostiles/goods) == hostiles/goods-1 {
			g := len(script) - i // 1, 2, ... goods
			script = append(script, drillMsg{msg: msg{l3ID,
				fmt.Sprintf(`{"asset":%q,"signal":"speed_units_per_min","value":%d,"ts":%q}`, l3ID, g, at(time.Duration(g)*time.Second))}})
		}
	}

	msgs := make([]msg, len(script))
	for i, m := range script {
		msgs[i] = m.msg
	}
	where := produce(t, addr, "telemetry", msgs)
	runtime.GC()
	base0 := heapBytes()
	peak := watchMemory(t)
	w := startConfig(t, addr, "drill", s, twinsync.Config{})
	waitMessages(t, int64(len(script)), w)

	select {
	case err := <-w.done:
		t.Fatalf("worker stopped: %v", err)
	default:
	}
	if err := w.w.Ready(); err != nil {
		t.Errorf("worker not ready after the drill: %v", err)
	}
	// Every good sample applied, in order.
	series, err := s.history.QueryHistory(context.Background(), []twin.HistoryQuery{{Asset: l3ID,
		Metric: "speed_units_per_min", From: base, To: base.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(series[0].Points); n != goods {
		t.Errorf("%d good samples in history, want %d", n, goods)
	}
	if st := state(t, s, l3ID); st == nil || !st.Metrics["speed_units_per_min"].Value.Equal(twin.Number(goods)) {
		t.Errorf("state %+v, want speed %d", st, goods)
	}
	// Exactly one dead letter per hostile record, with its reason.
	want := map[string]string{}
	for i, m := range script {
		if m.code != "" {
			want[where[i]] = m.code
		}
	}
	got := readDLQRecords(t, addr, "drill-dlq", len(want), false)
	if len(got) != len(want) {
		t.Errorf("%d dead letters, want %d", len(got), len(want))
	}
	seen := map[string]int{}
	for _, r := range got {
		src := r.headers["source_partition"] + "/" + r.headers["source_offset"]
		seen[src]++
		code, _, _ := strings.Cut(r.headers["reason"], ":")
		if want[src] != code {
			t.Errorf("dead letter of %s: reason %q, want %s", src, r.headers["reason"], want[src])
		}
	}
	for src, n := range seen {
		if n != 1 {
			t.Errorf("%d dead letters for %s", n, src)
		}
	}
	heap, rss := peak()
	t.Logf("Go heap %d MiB before the worker started, peak %d MiB while it ran; peak RSS %d MiB (broker included)",
		base0>>20, heap>>20, rss>>20)
	if heap > 1<<30 {
		t.Errorf("peak Go heap %d MiB, want under 1 GiB", heap>>20)
	}
}

// watchMemory samples the Go heap and the process's RSS until the test ends;
// the returned function gives the peaks so far.
func watchMemory(t *testing.T) func() (heap, rss uint64) {
	var mu sync.Mutex
	var maxHeap, maxRSS uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			h, r := heapBytes(), rssBytes()
			mu.Lock()
			maxHeap, maxRSS = max(maxHeap, h), max(maxRSS, r)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return func() (uint64, uint64) {
		mu.Lock()
		defer mu.Unlock()
		return maxHeap, maxRSS
	}
}

// heapBytes is the Go heap in use by objects, live or not yet swept.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// rssBytes is the process's resident set (0 where /proc is missing).
func rssBytes() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
