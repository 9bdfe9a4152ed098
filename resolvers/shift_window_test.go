package resolvers_test

import (
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	twin "github.com/twingraph/twingraph"
)

// TestQuery_ShiftReportLongWindow: a report over more than 500 days works
// (its counter buckets round to whole days), and a window outside the
// history range is BAD_INPUT rather than an overflow.
func TestQuery_ShiftReportLongWindow(t *testing.T) {
	e := newEnv(t, mustDemoModel(t))
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
