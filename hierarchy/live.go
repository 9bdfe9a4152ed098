package hierarchy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	twin "github.com/twingraph/twingraph"
)

// Live is the model a running process serves, swapped whole when the model
// file changes. It implements twin.Model by reading the current model on
// each call, so everything holding it (resolvers, the gateway, the sync
// worker) sees a reload without being told. A caller that needs one model
// across several calls (a batch decoded and then applied) takes Snapshot.
type Live struct {
	cur atomic.Pointer[Model]
}

var _ twin.Model = (*Live)(nil)

// NewLive returns a Live serving m.
func NewLive(m *Model) *Live {
	l := &Live{}
	l.cur.Store(m)
	return l
}

// Load returns the current model.
func (l *Live) Load() *Model { return l.cur.Load() }

// Store makes m the current model and returns the one it replaces.
func (l *Live) Store(m *Model) *Model { return l.cur.Swap(m) }

// Snapshot returns the current model as a twin.Model that never changes.
func (l *Live) Snapshot() twin.Model { return l.cur.Load() }

// The twin.Model methods, each on the current model.

// Asset returns the asset with the id (or an earlier id), or nil.
func (l *Live) Asset(id string) *twin.Asset { return l.Load().Asset(id) }

// Assets returns every asset not retired.
func (l *Live) Assets() []*twin.Asset { return l.Load().Assets() }

// Roots returns the assets without parents, retired ones left out.
func (l *Live) Roots() []*twin.Asset { return l.Load().Roots() }

// Parents returns the assets directly above id.
func (l *Live) Parents(id string) []*twin.Asset { return l.Load().Parents(id) }

// Children returns the assets directly below id.
func (l *Live) Children(id, typ string) []*twin.Asset { return l.Load().Children(id, typ) }

// Ancestors returns every distinct asset above id.
func (l *Live) Ancestors(id string) []*twin.Asset { return l.Load().Ancestors(id) }

// Descendants returns every distinct asset below id.
func (l *Live) Descendants(id, typ string, maxDepth int) []*twin.Asset {
	return l.Load().Descendants(id, typ, maxDepth)
}

// IsUnder reports whether id is under (or equal to) ancestor.
func (l *Live) IsUnder(id, ancestor string) bool { return l.Load().IsUnder(id, ancestor) }

// Type returns the named asset type, or nil.
func (l *Live) Type(name string) *twin.AssetType { return l.Load().Type(name) }

// Mapping returns the signal map entry of a raw device tag.
func (l *Live) Mapping(device, tag string) (twin.TagMapping, bool) {
	return l.Load().Mapping(device, tag)
}

// Aliased reports whether the current model has any alias.
func (l *Live) Aliased() bool { return l.Load().Aliased() }

// Stamp names the current model: "VERSION@HASH" or "HASH".
func (l *Live) Stamp() string { return l.Load().Stamp() }

// Snapshot returns m itself: a loaded Model never changes.
func (m *Model) Snapshot() twin.Model { return m }

// Watcher reloads a model file into a Live: on Reload, and when Run sees
// the file change. A file that does not load is refused whole and the Live
// keeps serving the model it has.
type Watcher struct {
	// Live receives the reloaded model. Required.
	Live *Live
	// Path is the model file. Required.
	Path string
	// Interval is how often Run looks at the file's size and modification
	// time; DefaultWatchInterval when 0; never when negative (only the
	// trigger reloads).
	Interval time.Duration
	// OnReload is called after a changed model was swapped in; may be nil.
	OnReload func(old, cur *Model)
	// OnError is called with a refused reload (a *LoadError lists its
	// FILE:LINE problems); may be nil.
	OnError func(err error)
	// OnUnchanged is called when a triggered reload finds the model in
	// service (so a SIGHUP is never silent); may be nil.
	OnUnchanged func(cur *Model)

	stat     fileStamp
	lastData []byte // the bytes last refused, so a bad file is reported once
}

// DefaultWatchInterval is how often a Watcher looks at the model file.
const DefaultWatchInterval = 2 * time.Second

type fileStamp struct {
	size int64
	mod  time.Time
}

// ErrUnchanged is returned by Reload when the file holds the model already served.
var ErrUnchanged = errors.New("model file unchanged")

// Reload reads and loads the file now. It swaps the model in and returns
// it when the file is valid and differs from the current model (by hash);
// otherwise it returns ErrUnchanged, the read error or the *LoadError, and
// the Live keeps its model.
func (w *Watcher) Reload() (*Model, error) {
	data, err := os.ReadFile(w.Path)
	if err != nil {
		return nil, fmt.Errorf("reload model: %w", err)
	}
	if contentHash(data) == w.Live.Load().Hash() {
		return nil, ErrUnchanged
	}
	m, err := Load(w.Path, data)
	if err != nil {
		return nil, err
	}
	old := w.Live.Store(m)
	if w.OnReload != nil {
		w.OnReload(old, m)
	}
	return m, nil
}

// Run watches the file until ctx ends: every Interval it compares the
// file's size and modification time with the last look and reloads when
// they changed; each value on trigger (SIGHUP) reloads at once. Errors go
// to OnError; a bad file is reported once per content, unless triggered.
func (w *Watcher) Run(ctx context.Context, trigger <-chan struct{}) {
	every := w.Interval
	if every == 0 {
		every = DefaultWatchInterval
	}
	w.stat, _ = statFile(w.Path)
	// The file may have changed since the model in service was loaded.
	w.try(false)
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-trigger:
			forced = true
		case <-tick:
			st, err := statFile(w.Path)
			if err != nil || st == w.stat {
				continue
			}
			w.stat = st
		}
		w.try(forced)
	}
}

// try reloads and reports the outcome.
func (w *Watcher) try(forced bool) {
	data, _ := os.ReadFile(w.Path)
	if !forced && data != nil && bytes.Equal(data, w.lastData) {
		return // refused already, unchanged since
	}
	_, err := w.Reload()
	switch {
	case errors.Is(err, ErrUnchanged):
		w.lastData = nil
		if forced && w.OnUnchanged != nil {
			w.OnUnchanged(w.Live.Load())
		}
	case err == nil:
		w.lastData = nil
	default:
		w.lastData = data
		if w.OnError != nil {
			w.OnError(err)
		}
	}
}

func statFile(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.Size(), fi.ModTime()}, nil
}
