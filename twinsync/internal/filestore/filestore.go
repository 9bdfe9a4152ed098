// Package filestore is a small file-backed implementation of the state,
// history and event stores, for tests that kill worker processes: what a
// process wrote survives its SIGKILL, and several processes can share one
// directory. It is not for production use: reads scan every file.
package filestore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	twin "github.com/twingraph/twingraph"
)

// Store keeps states as one file per asset (replaced atomically by rename)
// and history and events as JSON lines appended to a file per process.
type Store struct {
	dir string
	id  string
}

// Open uses dir (created if missing); id names this process's append files.
func Open(dir, id string) (*Store, error) {
	for _, sub := range []string{"states", "history", "events"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	return &Store{dir: dir, id: id}, nil
}

func (s *Store) statePath(id string) string {
	return filepath.Join(s.dir, "states", url.PathEscape(id)+".json")
}

// GetStates reads the state files of ids.
func (s *Store) GetStates(_ context.Context, ids []string) ([]*twin.State, error) {
	out := make([]*twin.State, len(ids))
	for i, id := range ids {
		b, err := os.ReadFile(s.statePath(id))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var st twin.State
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("state of %s: %w", id, err)
		}
		out[i] = &st
	}
	return out, nil
}

// PutStates writes each state to a temporary file and renames it into place,
// so a reader (or a process killed midway) never sees half a state.
func (s *Store) PutStates(_ context.Context, states []*twin.State) error {
	for _, st := range states {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		tmp := s.statePath(st.Asset) + "." + s.id + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, s.statePath(st.Asset)); err != nil {
			return err
		}
	}
	return nil
}

// DeleteStates removes the state files of ids.
func (s *Store) DeleteStates(_ context.Context, ids []string) error {
	for _, id := range ids {
		if err := os.Remove(s.statePath(id)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

func (s *Store) appendLines(kind string, n int, line func(i int) any) error {
	f, err := os.OpenFile(filepath.Join(s.dir, kind, s.id+".jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range n {
		if err := enc.Encode(line(i)); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readLines decodes every complete line of every file of kind; a torn last
// line (a process killed mid-append) is skipped: its batch was never committed.
func readLines[T any](dir, kind string) ([]T, error) {
	files, err := filepath.Glob(filepath.Join(dir, kind, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []T
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			var v T
			if json.Unmarshal(sc.Bytes(), &v) == nil {
				out = append(out, v)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// row is one history row as stored.
type row struct {
	Asset   string       `json:"asset"`
	Signal  string       `json:"signal"`
	TS      time.Time    `json:"ts"`
	Value   twin.Value   `json:"value"`
	Quality twin.Quality `json:"quality"`
}

// AppendSamples appends the samples; duplicates are dropped when read.
func (s *Store) AppendSamples(_ context.Context, samples []twin.Sample) error {
	return s.appendLines("history", len(samples), func(i int) any {
		x := samples[i]
		return row{x.Asset, x.Signal, x.TS, x.Value, x.Quality}
	})
}

// Appended returns how many history rows were appended in all, duplicates
// included: more than len(Rows()) shows that batches were written again.
func (s *Store) Appended() (int, error) {
	rows, err := readLines[row](s.dir, "history")
	return len(rows), err
}

// Rows returns every distinct history row as "asset|signal|ts|value|quality", sorted.
func (s *Store) Rows() ([]string, error) {
	rows, err := readLines[row](s.dir, "history")
	if err != nil {
		return nil, err
	}
	seen := map[string]string{}
	for _, r := range rows {
		k := r.Asset + "|" + r.Signal + "|" + r.TS.UTC().Format(time.RFC3339Nano)
		if _, ok := seen[k]; !ok { // unique per (asset, signal, ts): the first write wins
			seen[k] = k + "|" + r.Value.String() + "|" + string(r.Quality)
		}
	}
	out := make([]string, 0, len(seen))
	for _, v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// QueryHistory is not supported: tests read Rows.
func (s *Store) QueryHistory(context.Context, []twin.HistoryQuery) ([]twin.Series, error) {
	return nil, twin.Errorf(twin.EBADINPUT, "filestore answers no history queries")
}

// AppendEvents appends the events; duplicates (by id) are dropped when read.
func (s *Store) AppendEvents(_ context.Context, events []twin.Event) error {
	return s.appendLines("events", len(events), func(i int) any { return events[i] })
}

// AllEvents returns every distinct event (by id), sorted by time and id.
func (s *Store) AllEvents() ([]twin.Event, error) {
	evs, err := readLines[twin.Event](s.dir, "events")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []twin.Event
	for _, e := range evs {
		if !seen[e.ID] {
			seen[e.ID] = true
			e.Seq = 0
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b twin.Event) int {
		if c := a.TS.Compare(b.TS); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out, nil
}

// ListEvents returns every event in one page (tests only).
func (s *Store) ListEvents(_ context.Context, q twin.EventQuery) (twin.EventPage, error) {
	evs, err := s.AllEvents()
	return twin.EventPage{Events: evs}, err
}
