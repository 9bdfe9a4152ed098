package main

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version is the release, set at build time (make build passes
// -ldflags "-X main.version=$(git describe)"); empty falls back to the
// module version Go recorded, "(devel)" for a plain go build.
var version string

// revision is the VCS revision, set at build time like version; empty
// falls back to what Go stamped (nothing under -buildvcs=false).
var revision string

// buildInfo says which twingraph this is: the release, the VCS revision it
// was built from (with "-dirty" for uncommitted changes) and the Go toolchain.
type buildInfo struct {
	Version, Revision, GoVersion string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Revision: cmp.Or(revision, "unknown"), GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "unknown"
		}
		return b
	}
	if b.Version == "" {
		b.Version = info.Main.Version
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if revision == "" {
				b.Revision = s.Value
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && revision == "" && b.Revision != "unknown" {
		b.Revision += "-dirty"
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("twingraph %s (revision %s, %s)", b.Version, b.Revision, b.GoVersion)
}

// printVersion answers `twingraph version` and `twingraph --version`.
func printVersion(w io.Writer) {
	fmt.Fprintln(w, readBuildInfo())
}

// buildInfoGauge is twingraph_build_info{version,revision,goversion} 1, the
// usual way to put a build's identity on dashboards and alerts.
func buildInfoGauge() prometheus.Collector {
	b := readBuildInfo()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "twingraph_build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}

// logStarted logs, once a command serves, what runs: the build, the model
// and the command's own attributes (addresses, never credentials).
func (m *Main) logStarted(msg string, attrs ...any) {
	b := readBuildInfo()
	m.Logger.Info(msg, append([]any{"version", b.Version, "revision", b.Revision,
		"model", m.ModelSource, "assets", len(m.Model.Assets())}, attrs...)...)
}
