package hierarchy

import (
	"fmt"
	"slices"
	"strings"

	twin "github.com/twingraph/twingraph"
)

// rollupDecl keeps the lines of a rolled-up signal for the checks that need
// every type loaded.
type rollupDecl struct {
	name      string
	line      int
	fromLine  int
	overLines []int
	unitSet   bool
}

// loadMaintenance reads a type's maintenance block: the signals and nameplate
// attributes the maintenance feed reads.
func (l *loader) loadMaintenance(td *typeDecl, f field) {
	what := fmt.Sprintf("type %q maintenance", td.t.Name)
	fs := l.fields(f.val, what, "cyclesSignal", "vibrationSignal", "vibrationAlarm",
		"lastServiceAttribute", "serviceIntervalAttribute", "serviceIntervalDaysAttribute")
	if fs == nil {
		return
	}
	m := &twin.MaintenanceConfig{}
	for _, r := range []struct {
		key string
		dst *string
	}{{"cyclesSignal", &m.CyclesSignal}, {"vibrationSignal", &m.VibrationSignal}} {
		if rf, ok := fs[r.key]; ok {
			if s, ok := l.str(rf, what+"."+r.key); ok && s != "" {
				*r.dst = s
				td.refs = append(td.refs, signalRef{what: "maintenance." + r.key, name: s, line: rf.val.Line, kind: twin.KindNumber})
			}
		}
	}
	for _, a := range []struct {
		key string
		dst *string
	}{
		{"lastServiceAttribute", &m.LastServiceAttribute},
		{"serviceIntervalAttribute", &m.ServiceIntervalAttribute},
		{"serviceIntervalDaysAttribute", &m.ServiceIntervalDaysAttribute},
	} {
		if af, ok := fs[a.key]; ok {
			*a.dst, _ = l.str(af, what+"."+a.key)
		}
	}
	if af, ok := fs["vibrationAlarm"]; ok {
		if v, ok := l.number(af, what+".vibrationAlarm"); ok {
			if v <= 0 {
				l.errf(af.val.Line, "%s.vibrationAlarm must be positive, got %g", what, v)
			} else {
				m.VibrationAlarm = &v
			}
		}
		if m.VibrationSignal == "" {
			l.errf(af.key.Line, "%s: vibrationAlarm needs a vibrationSignal", what)
		}
	}
	td.t.Maintenance = m
}

// checkMaintenance reports service attributes of the wrong type: a missing
// one leaves its figure out, a wrong one is a mistake.
func (l *loader) checkMaintenance() {
	for _, ad := range l.order {
		td := l.types[ad.a.Type]
		if td == nil || td.t.Maintenance == nil {
			continue
		}
		m := td.t.Maintenance
		if v, ok := ad.a.Attributes[m.LastServiceAttribute]; ok && m.LastServiceAttribute != "" {
			if _, ok := twin.ParseServiceDate(v, nil); !ok {
				l.errf(ad.line, "asset %q: attribute %s (last service) must be a date such as 2026-11-20, got %v",
					ad.a.ID, m.LastServiceAttribute, v)
			}
		}
		for _, k := range []string{m.ServiceIntervalAttribute, m.ServiceIntervalDaysAttribute} {
			if v, ok := ad.a.Attributes[k]; ok && k != "" {
				if f, isNum := v.(float64); !isNum || f <= 0 {
					l.errf(ad.line, "asset %q: attribute %s (service interval) must be a positive number, got %v", ad.a.ID, k, v)
				}
			}
		}
	}
}

// loadRollups reads a type's rolled-up signals:
//
//	rollups:
//	  - {name: units, from: units_count, agg: sum, over: [filler]}
func (l *loader) loadRollups(td *typeDecl, f field) {
	for _, n := range l.seq(f.val, fmt.Sprintf("type %q rollups", td.t.Name)) {
		what := fmt.Sprintf("type %q rollup", td.t.Name)
		fs := l.fields(n, what, "name", "from", "agg", "over", "unit", "description", "decimals")
		if fs == nil {
			continue
		}
		nf, okN := fs["name"]
		ff, okF := fs["from"]
		if !okN || !okF {
			l.errf(n.Line, "%s: name and from are required", what)
			continue
		}
		name, _ := l.str(nf, what+" name")
		from, _ := l.str(ff, what+" from")
		what = fmt.Sprintf("type %q rollup %q", td.t.Name, name)
		if !signalNameRe.MatchString(name) {
			l.errf(nf.val.Line, "%s: bad name: want an identifier", what)
			continue
		}
		if prev, dup := td.sigLines[name]; dup {
			l.errf(nf.val.Line, "%s: the type already has a signal of that name (line %d)", what, prev)
			continue
		}
		if !signalNameRe.MatchString(from) {
			l.errf(ff.val.Line, "%s: bad from %q: want a signal name", what, from)
			continue
		}
		r := &twin.SignalRollup{From: from, Agg: twin.AggSum}
		if af, ok := fs["agg"]; ok {
			a, _ := l.str(af, what+" agg")
			r.Agg = twin.Agg(strings.ToUpper(a))
			if !slices.Contains(twin.RollupAggs, r.Agg) {
				l.errf(af.val.Line, "%s: bad agg %q: want sum, avg, min or max", what, a)
				continue
			}
		}
		d := rollupDecl{name: name, line: nf.val.Line, fromLine: ff.val.Line}
		if of, ok := fs["over"]; ok {
			r.Over, d.overLines = l.strList(of, what+" over")
		}
		s := twin.SignalDef{Name: name, Kind: twin.KindNumber, Rollup: r}
		if uf, ok := fs["unit"]; ok {
			s.Unit, _ = l.str(uf, what+" unit")
			d.unitSet = true
		}
		if df, ok := fs["description"]; ok {
			s.Description, _ = l.str(df, what+" description")
		}
		if df, ok := fs["decimals"]; ok {
			if v, ok := l.number(df, what+" decimals"); ok && v >= 0 && v <= maxDecimals && v == float64(int(v)) {
				dv := int(v)
				s.Decimals = &dv
			} else if ok {
				l.errf(df.val.Line, "%s: decimals must be a whole number from 0 to %d", what, maxDecimals)
			}
		}
		td.sigLines[name] = nf.val.Line
		td.rollups = append(td.rollups, d)
		td.t.Rollups = append(td.t.Rollups, s)
	}
}

// checkRollups, with every type loaded, checks that each rolled-up signal's
// over names types and that some member type has its from signal as a
// number or bool; the unit defaults to that signal's.
func (l *loader) checkRollups() {
	for _, td := range l.typeOrder {
		for i, d := range td.rollups {
			s := &td.t.Rollups[i]
			what := fmt.Sprintf("type %q rollup %q", td.t.Name, d.name)
			ok := true
			for j, o := range s.Rollup.Over {
				if l.types[o] == nil {
					l.errf(d.overLines[j], "%s: over names unknown type %q", what, o)
					ok = false
				}
			}
			if !ok {
				continue
			}
			var src *twin.SignalDef
			for _, m := range l.typeOrder {
				if len(s.Rollup.Over) > 0 && !slices.Contains(s.Rollup.Over, m.t.Name) {
					continue
				}
				if sig := m.t.Signal(s.Rollup.From); sig != nil && (sig.Kind == twin.KindNumber || sig.Kind == twin.KindBool) {
					src = sig
					break
				}
			}
			if src == nil {
				l.errf(d.fromLine, "%s: no member type has a number signal %q", what, s.Rollup.From)
				continue
			}
			if !d.unitSet {
				s.Unit = src.Unit
			}
		}
	}
}
