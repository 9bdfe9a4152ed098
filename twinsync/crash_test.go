package twinsync_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
	"github.com/twingraph/twingraph/twinsync/internal/filestore"
)

// TestWorker_CrashSIGKILL runs two worker processes in one group over shared
// file-backed stores and SIGKILLs one of them mid-stream several times,
// restarting it each time. The final states, history rows and events equal
// those of one clean run: none lost, none doubled.
func TestWorker_CrashSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills worker processes")
	}
	noLeaks(t)
	addr := testenv.Kafka(t)
	m := mustModel(t)
	bin := testenv.Build(t, "./internal/crashworker")

	dir := t.TempDir()
	var procs []*exec.Cmd
	// Each process appends to files of its own (id); the restarted one comes
	// back as the same static member (instance), as a supervisor would
	// restart it, so the group hands it its partitions without waiting to
	// time the killed incarnation out.
	spawn := func(id, instance string) *exec.Cmd {
		cmd := exec.Command(bin, "-brokers", addr, "-dir", dir, "-id", id, "-instance", instance)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
		return cmd
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if p.ProcessState == nil {
				p.Process.Signal(syscall.SIGTERM)
				p.Wait()
			}
		}
	})
	kill := func(p *exec.Cmd) {
		if err := p.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.Wait()
	}

	script := append(line3Script(), machinesScript(m, 60)...)
	victim := spawn("a0", "a")
	spawn("b0", "b")
	const chunk = 60
	kills := 0
	for i := 0; i < len(script); i += chunk {
		produce(t, addr, "telemetry", script[i:min(i+chunk, len(script))])
		// Kill at varying moments after a produce: mid-batch, mid-write,
		// between write and commit.
		time.Sleep(time.Duration(5+(i/chunk)*17%60) * time.Millisecond)
		if (i/chunk)%2 == 1 {
			kill(victim)
			kills++
			victim = spawn(fmt.Sprintf("a%d", kills), "a")
		}
	}
	t.Logf("%d records, %d kills", len(script), kills)

	// The reference: one clean in-process worker over its own file store.
	cleanDir := t.TempDir()
	clean, err := filestore.Open(cleanDir, "clean")
	if err != nil {
		t.Fatal(err)
	}
	run(t, addr, "clean", &stores{states: clean, history: clean, events: clean}, len(script))

	shared, err := filestore.Open(dir, "reader")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range m.Assets() {
		ids = append(ids, a.ID)
	}
	ctx := context.Background()
	cleanStates, err := clean.GetStates(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := &twinsync.Rebuilt{States: map[string]*twin.State{}}
	for i, st := range cleanStates {
		if st != nil {
			want.States[ids[i]] = st
		}
	}
	wantRows, _ := clean.Rows()
	wantEvents, _ := clean.AllEvents()

	var last string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		diffs, err := twinsync.Verify(ctx, shared, want, ids)
		rows, rerr := shared.Rows()
		events, eerr := shared.AllEvents()
		switch {
		case err != nil || rerr != nil || eerr != nil:
			last = fmt.Sprint(err, rerr, eerr)
		case len(diffs) > 0:
			last = fmt.Sprintf("%d state differences, first %v", len(diffs), diffs[0])
		case !slices.Equal(rows, wantRows):
			last = fmt.Sprintf("%d history rows, want %d", len(rows), len(wantRows))
		case !slices.EqualFunc(events, wantEvents, func(a, b twin.Event) bool { return a.ID == b.ID }):
			last = fmt.Sprintf("%d events, want %d", len(events), len(wantEvents))
		default:
			appended, _ := shared.Appended()
			t.Logf("%d history rows appended for %d distinct: batches written again after the kills", appended, len(rows))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the kills the stores never matched a clean run: %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
