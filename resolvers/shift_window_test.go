package resolvers_test

import (
	"math"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// TestQuery_ShiftReportLongWindow: a report over more than 500 days works
// (its counter buckets round to whole days), and a window outside the
// history range is BAD_INPUT rather than an overflow.
func TestQuery_ShiftReportLongWindow(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	to := now.Truncate(time.Hour)
	from := to.Add(-501 * 24 * time.Hour)
	e.appendSamples(t, line3, "total_units", pt(from.Add(10*24*time.Hour), 100), pt(from.Add(400*24*time.Hour), 600))

	t.Run("501 days", func(t *testing.T) {
		var resp struct {
			ShiftReport struct {
				Assets []struct {
					Asset         string
					UnitsProduced *float64
					SecondsByMode []struct{ Seconds float64 }
				}
			}
		}
		e.post(t, `query($from: Time!, $to: Time!) { shiftReport(under: "`+line3+`", from: $from, to: $to) {
			assets { asset unitsProduced secondsByMode { seconds } } } }`, &resp,
			client.Var("from", from.Format(time.RFC3339)), client.Var("to", to.Format(time.RFC3339)))
		for _, a := range resp.ShiftReport.Assets {
			if a.Asset != line3 {
				continue
			}
			if a.UnitsProduced == nil || *a.UnitsProduced != 500 {
				t.Errorf("unitsProduced = %v, want 500", a.UnitsProduced)
			}
			var sum float64
			for _, s := range a.SecondsByMode {
				sum += s.Seconds
			}
			if sum != to.Sub(from).Seconds() {
				t.Errorf("seconds by mode sum to %v, want the window's %v", sum, to.Sub(from).Seconds())
			}
			return
		}
		t.Fatal("line3 missing from its own report")
	})
	for name, q := range map[string]string{
		"before 1970":    `{ shiftReport(under: "` + line3 + `", from: "1900-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { from } }`,
		"to year 9999":   `{ shiftReport(under: "` + line3 + `", from: "2026-01-01T00:00:00Z", to: "9999-01-01T00:00:00Z") { from } }`,
		"over 292 years": `{ shiftReport(under: "` + line3 + `", from: "1970-01-01T00:00:00Z", to: "2300-01-01T00:00:00Z") { from } }`,
	} {
		t.Run(name, func(t *testing.T) {
			if errs := e.errorsOf(t, q); codeOf(errs) != twin.EBADINPUT {
				t.Errorf("errors = %v, want BAD_INPUT", errs)
			}
		})
	}
}

// A shift's OEE follows the domain's one definition: without a rated speed
// it is unavailable, as the state's estimate is (it used to assume
// performance 1 and answer a number the state never would).
func TestQuery_ShiftReportOEEWithoutRatedSpeed(t *testing.T) {
	m := mustModel(t, `types:
  site: {}
  line:
    signals:
      - {name: speed, min: 0}
      - {name: total_units, min: 0}
      - {name: good_units, min: 0}
    modeRules:
      - {when: "speed > 0", mode: RUNNING}
      - {when: "true", mode: IDLE}
    oee: {ratedSpeedAttribute: rated, speedSignal: speed, goodSignal: good_units, totalSignal: total_units}
assets:
  - {id: s, type: site, timezone: UTC}
  - {id: s/rated, type: line, parent: s, attributes: {rated: 100}}
  - {id: s/unrated, type: line, parent: s}
`)
	e := newEnv(t, m)
	from, to := now.Add(-time.Hour), now
	for _, id := range []string{"s/rated", "s/unrated"} {
		e.appendAndPublish(t, modeChange(id, twin.ModeIdle, twin.ModeRunning, from, 60))
		e.appendSamples(t, id, "total_units", pt(from.Add(time.Minute), 0), pt(to.Add(-time.Minute), 3000))
		e.appendSamples(t, id, "good_units", pt(from.Add(time.Minute), 0), pt(to.Add(-time.Minute), 2900))
	}
	var resp struct {
		ShiftReport struct {
			Assets []struct {
				AssetID string
				Oee     *float64
			}
		}
	}
	e.post(t, `query($from: Time!, $to: Time!) { shiftReport(under: "s", from: $from, to: $to) { assets { assetId oee } } }`,
		&resp, client.Var("from", from.Format(time.RFC3339)), client.Var("to", to.Format(time.RFC3339)))
	got := map[string]*float64{}
	for _, a := range resp.ShiftReport.Assets {
		got[a.AssetID] = a.Oee
	}
	if got["s/unrated"] != nil {
		t.Errorf("OEE without a rated speed = %v, want null (unavailable, as in state)", *got["s/unrated"])
	}
	// An hour running at rated 100/min: 6,000 units would be 100 %; 3,000 is
	// 50 % performance, 2,900 of them good.
	if r := got["s/rated"]; r == nil || math.Abs(*r-0.5*2900.0/3000) > 1e-9 {
		t.Errorf("OEE with a rated speed = %v, want %v", r, 0.5*2900.0/3000)
	}
}
