package resolvers_test

import (
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
)

type shiftWindow struct {
	Name, From, To, Timezone string
}

// Query.shift answers the demo plant's calendar (A 06:00, B 14:00, C 22:00
// in Jakarta) for any asset under the site: the tests' clock reads 14:00 in
// Jakarta, so shift B is in force; previous and next step through the
// calendar across midnight.
func TestQuery_Shift(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	var resp struct {
		Cur      shiftWindow
		Prev     struct{ Previous shiftWindow }
		PrevPrev struct {
			Previous struct{ Previous shiftWindow }
		}
		Next  struct{ Next shiftWindow }
		Night shiftWindow
	}
	const at = `shift(under: "` + line3 + `")`
	e.post(t, `{
		cur: `+at+` { name from to timezone }
		prev: `+at+` { previous { name from to } }
		prevPrev: `+at+` { previous { previous { name from to } } }
		next: `+at+` { next { name from to } }
		night: shift(under: "plant/jkt1", at: "2026-11-24T20:30:00Z") { name from to }
	}`, &resp)
	want := []struct {
		got  shiftWindow
		want shiftWindow
	}{
		{resp.Cur, shiftWindow{"B", "2026-11-24T07:00:00Z", "2026-11-24T15:00:00Z", "Asia/Jakarta"}},
		{resp.Prev.Previous, shiftWindow{"A", "2026-11-23T23:00:00Z", "2026-11-24T07:00:00Z", ""}},
		{resp.PrevPrev.Previous.Previous, shiftWindow{"C", "2026-11-23T15:00:00Z", "2026-11-23T23:00:00Z", ""}},
		{resp.Next.Next, shiftWindow{"C", "2026-11-24T15:00:00Z", "2026-11-24T23:00:00Z", ""}},
		{resp.Night, shiftWindow{"C", "2026-11-24T15:00:00Z", "2026-11-24T23:00:00Z", ""}},
	}
	for i, w := range want {
		if w.got != w.want {
			t.Errorf("window %d = %+v, want %+v", i, w.got, w.want)
		}
	}

	for name, c := range map[string]struct{ q, code string }{
		"unknown asset": {`{ shift(under: "plant/nowhere") { name } }`, twin.ENOTFOUND},
		"no calendar":   {`{ shift(under: "s/l") { name } }`, twin.ENOTFOUND},
	} {
		t.Run(name, func(t *testing.T) {
			m := e
			if name == "no calendar" {
				m = newEnv(t, mustModel(t, "types: {site: {}, line: {}}\nassets:\n  - {id: s, type: site}\n  - {id: s/l, type: line, parent: s}\n"))
			}
			if errs := m.errorsOf(t, c.q); codeOf(errs) != c.code {
				t.Errorf("errors = %v, want %s", errs, c.code)
			}
		})
	}
}
