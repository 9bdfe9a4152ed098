package twinsync

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	twin "github.com/twingraph/twingraph"
)

const none = "<none>"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func fmtMetric(m twin.Metric, ok bool) string {
	if !ok {
		return none
	}
	return m.Value.String() + " @ " + fmtTime(m.TS)
}

// diffStates lists the fields where a (live) and b (rebuilt) differ.
func diffStates(id string, a, b *twin.State) []Difference {
	if a == nil && b == nil {
		return nil
	}
	if a == nil || b == nil {
		d := Difference{Asset: id, Field: "state", Live: none, Rebuilt: none}
		if a != nil {
			d.Live = string(a.Mode)
		}
		if b != nil {
			d.Rebuilt = string(b.Mode)
		}
		return []Difference{d}
	}
	var out []Difference
	add := func(field, x, y string) {
		if x != y {
			out = append(out, Difference{Asset: id, Field: field, Live: x, Rebuilt: y})
		}
	}
	addTime := func(field string, x, y time.Time) {
		if !x.Equal(y) {
			out = append(out, Difference{Asset: id, Field: field, Live: fmtTime(x), Rebuilt: fmtTime(y)})
		}
	}
	add("mode", string(a.Mode), string(b.Mode))
	addTime("modeSince", a.ModeSince, b.ModeSince)
	add("pendingMode", string(a.PendingMode), string(b.PendingMode))
	addTime("pendingSince", a.PendingSince, b.PendingSince)
	add("faultCodes", strings.Join(a.FaultCodes, ","), strings.Join(b.FaultCodes, ","))
	for _, k := range unionKeys(a.FaultSince, b.FaultSince) {
		addTime("faultSince."+k, a.FaultSince[k], b.FaultSince[k])
	}
	add("product", a.Product, b.Product)
	add("batch", a.Batch, b.Batch)
	addTime("batchSince", a.BatchSince, b.BatchSince)
	add("uptimeDay", a.UptimeDay, b.UptimeDay)
	add("uptimeSeconds", fmtFloat(a.UptimeSeconds), fmtFloat(b.UptimeSeconds))
	addTime("uptimeAsOf", a.UptimeAsOf, b.UptimeAsOf)
	addTime("dayStart", a.DayStart, b.DayStart)
	for _, k := range unionKeys(a.Metrics, b.Metrics) {
		x, xok := a.Metrics[k]
		y, yok := b.Metrics[k]
		if xok != yok || !x.Value.Equal(y.Value) || !x.TS.Equal(y.TS) {
			out = append(out, Difference{Asset: id, Field: "metrics." + k, Live: fmtMetric(x, xok), Rebuilt: fmtMetric(y, yok)})
		}
	}
	addTime("updatedAt", a.UpdatedAt, b.UpdatedAt)
	for _, k := range unionKeys(a.Offsets, b.Offsets) {
		x, xok := a.Offsets[k]
		y, yok := b.Offsets[k]
		if xok != yok || x != y {
			xs, ys := none, none
			if xok {
				xs = strconv.FormatInt(x, 10)
			}
			if yok {
				ys = strconv.FormatInt(y, 10)
			}
			out = append(out, Difference{Asset: id, Field: "offsets." + k, Live: xs, Rebuilt: ys})
		}
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	ks := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}
