package sync_test

import (
	"context"
	"slices"
	gosync "sync"

	twin "github.com/twingraph/twingraph"
)

type stubStates struct {
	mu gosync.Mutex
	m  map[string]*twin.State
}

func (s *stubStates) GetStates(_ context.Context, ids []string) ([]*twin.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*twin.State, len(ids))
	for i, id := range ids {
		out[i] = s.m[id].Clone()
	}
	return out, nil
}
func (s *stubStates) PutStates(_ context.Context, sts []*twin.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range sts {
		s.m[st.Asset] = st.Clone()
	}
	return nil
}
func (s *stubStates) DeleteStates(_ context.Context, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.m, id)
	}
	return nil
}

type stubHistory struct {
	mu gosync.Mutex
	m  map[[3]string]twin.Sample
}

func (s *stubHistory) AppendSamples(_ context.Context, ss []twin.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range ss {
		k := [3]string{x.Asset, x.Signal, x.TS.UTC().String()}
		if _, ok := s.m[k]; !ok {
			s.m[k] = x
		}
	}
	return nil
}
func (s *stubHistory) QueryHistory(_ context.Context, qs []twin.HistoryQuery) ([]twin.Series, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]twin.Series, len(qs))
	for i, q := range qs {
		out[i] = twin.Series{Asset: q.Asset, Metric: q.Metric}
		for _, x := range s.m {
			if x.Asset == q.Asset && x.Signal == q.Metric && x.Value.Kind == twin.KindNumber {
				v := x.Value.Num
				out[i].Points = append(out[i].Points, twin.Point{TS: x.TS, Value: &v})
			}
		}
		slices.SortFunc(out[i].Points, func(a, b twin.Point) int { return a.TS.Compare(b.TS) })
	}
	return out, nil
}

type stubEvents struct {
	mu  gosync.Mutex
	ids map[string]bool
	all []twin.Event
}

func (s *stubEvents) AppendEvents(_ context.Context, es []twin.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range es {
		if s.ids[es[i].ID] {
			continue
		}
		s.ids[es[i].ID] = true
		es[i].Seq = int64(len(s.all) + 1)
		s.all = append(s.all, es[i])
	}
	return nil
}
func (s *stubEvents) ListEvents(_ context.Context, q twin.EventQuery) (twin.EventPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p twin.EventPage
	for _, e := range s.all {
		if e.Seq <= q.AfterSeq || (q.Assets != nil && !slices.Contains(q.Assets, e.Asset)) {
			continue
		}
		if len(p.Events) == q.First {
			p.HasNext = true
			break
		}
		p.Events = append(p.Events, e)
	}
	return p, nil
}

func newStores() *stores {
	return &stores{&stubStates{m: map[string]*twin.State{}}, &stubHistory{m: map[[3]string]twin.Sample{}},
		&stubEvents{ids: map[string]bool{}}, nil}
}
