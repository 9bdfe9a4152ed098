package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/postgres"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/twinsync"
)

// TestSync_CrashSIGKILL is the crash test of the sync pipeline with real
// processes and real stores: two `twingraph sync` processes in one consumer
// group over one Redis namespace and one PostgreSQL database, one of them
// SIGKILLed mid-stream several times and restarted. Once the group has
// committed every record, the stores must equal those of one clean worker
// that read the same log into fresh stores: every state, every history row
// and rollup, every event — none lost, none doubled. `rebuild --verify` must
// agree with the live state too.
//
// Both runs read the same topic of the same broker, so the offsets stamped on
// the states name the same log and are compared as well: a state that skipped
// or re-applied a record would show it there.
func TestSync_CrashSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills worker processes")
	}
	testSyncCrash(t, testenv.Redis(t), nil)
}

// TestSync_CrashSIGKILL_Cluster is the crash test on a private Redis Cluster
// of three masters and three replicas, where the states spread over the
// masters, with a master failover besides the kills: while a chunk of the
// script streams in and the workers write it, a replica takes over its
// master (CLUSTER FAILOVER). Nothing may be lost or applied twice.
func TestSync_CrashSIGKILL_Cluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills worker processes")
	}
	c := testenv.NewRedisCluster(t, 1)
	testSyncCrash(t, c.URL, func(t *testing.T) {
		from, to := c.Failover(t)
		t.Logf("master %s failed over to %s mid-ingest", from, to)
	})
}

// testSyncCrash runs the crash test on the Redis at rd; failover, when set,
// runs once while a chunk of the script is being written.
func testSyncCrash(t *testing.T, rd string, failover func(t *testing.T)) {
	ctx := context.Background()
	bin := testenv.Build(t, "github.com/twingraph/twingraph/cmd/twingraph")
	kafkaAddr := testenv.Kafka(t)
	crashNS, cleanNS := testenv.RedisNamespace(t), testenv.RedisNamespace(t)
	crashPG, cleanPG := migratedPostgres(t), migratedPostgres(t)

	m := NewMain(io.Discard, "warn")
	if err := m.LoadModel(""); err != nil {
		t.Fatal(err)
	}
	script := crashScript(t, m)
	ids := make([]string, 0, len(m.Model.Assets()))
	for _, a := range m.Model.Assets() {
		ids = append(ids, a.ID)
	}
	prod := newScriptProducer(t, kafkaAddr)
	logs := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, logs)
		}
	})

	const group = "crash"
	worker := func(name, instance, ns, pg, grp string) *syncProc {
		return startSync(t, bin, filepath.Join(logs, name+".log"),
			"--kafka", kafkaAddr, "--redis", rd, "--postgres", pg, "--namespace", ns, "--model", "../../examples/plant.yaml",
			"--group", grp, "--instance-id", instance, "--log-level", "info")
	}
	victim := worker("w1-0", "w1", crashNS, crashPG, group)
	steady := worker("w2", "w2", crashNS, crashPG, group)
	victims := []*syncProc{victim}
	victim.waitAssigned(t)
	steady.waitAssigned(t)

	watch := newWatcher(t, kafkaAddr, group, rd, crashNS, ids)

	// The script goes out in chunks. Every fourth chunk trickles out while
	// the victim works, so it writes batch after batch (and commits at most
	// every 100 ms), and the victim is killed as soon as it has applied
	// records it has not committed yet: between its writes and its commit,
	// or in the middle of the next batch's writes. Every other time one more
	// chunk goes out while it is down, so it comes back to a backlog. The
	// restarted process keeps the instance id, as a supervisor would restart
	// it, so the group hands its partitions back at once instead of after
	// the session timeout.
	const chunks = 20
	size := (len(script) + chunks - 1) / chunks
	kills, uncommitted, applied := 0, 0, 0
	for c := 0; c*size < len(script); c++ {
		chunk := script[c*size : min((c+1)*size, len(script))]
		if c%4 != 2 {
			if c == 5 && failover != nil {
				delivered := prod.start(t, chunk, true)
				failover(t)
				delivered()
				continue
			}
			prod.send(t, chunk)
			continue
		}
		parts := victim.lastAssigned()
		delivered := prod.start(t, chunk, true)
		watch.waitApplied(t, parts)
		victim.kill(t)
		kills++
		delivered()
		k := watch.observe(t, parts, prod.high())
		t.Logf("kill %d: %d records of partitions %v not committed, %d of them already applied to the state",
			kills, k.uncommitted, parts, k.applied)
		uncommitted += k.uncommitted
		applied += k.applied
		if kills%2 == 1 && (c+1)*size < len(script) {
			c++
			prod.send(t, script[c*size:min((c+1)*size, len(script))])
		}
		if kills == 3 {
			// This time the victim stays down until the group times it out
			// and the steady worker takes its partitions over: another
			// process replays what the victim applied and did not commit,
			// from the states the victim wrote, then hands the partitions
			// back when the victim returns.
			steady.waitTakeover(t, parts)
			if (c+1)*size < len(script) {
				c++
				prod.send(t, script[c*size:min((c+1)*size, len(script))])
			}
		}
		victim = worker(fmt.Sprintf("w1-%d", kills), "w1", crashNS, crashPG, group)
		victims = append(victims, victim)
		victim.waitAssigned(t)
	}
	if kills < 3 {
		t.Fatalf("only %d kills", kills)
	}
	// Kills that left nothing to replay would test nothing.
	if uncommitted == 0 || applied == 0 {
		t.Errorf("%d records left uncommitted by the kills, %d of them applied: no kill fell between writing and committing", uncommitted, applied)
	}
	high := prod.high()
	waitCommitted(t, kafkaAddr, group, high)
	victim.stop(t)
	steady.stop(t)

	// Scale-out: both processes owned partitions of the group.
	if p := steady.assigned(t); len(p) == 0 {
		t.Errorf("the steady worker never owned a partition")
	}
	var victimParts []string
	for _, v := range victims {
		victimParts = append(victimParts, v.assigned(t)...)
	}
	if len(victimParts) == 0 {
		t.Errorf("no incarnation of the killed worker ever owned a partition")
	}
	t.Logf("%d messages, %d kills leaving %d records uncommitted (%d of them applied); partitions owned: killed worker %v, steady worker %v",
		len(script), kills, uncommitted, applied, victimParts, steady.assigned(t))

	// The log is the source of truth: a replay agrees with the live state.
	if code, out := runCmd(t, "rebuild", "--model", "../../examples/plant.yaml", "--kafka", kafkaAddr, "--redis", rd, "--namespace", crashNS, "--verify"); code != 0 || !strings.Contains(out, "no differences") {
		t.Errorf("rebuild --verify after the kills exited %d:\n%s", code, out)
	}

	// The reference: one clean worker of its own group into fresh stores.
	clean := worker("clean", "clean", cleanNS, cleanPG, "clean")
	waitCommitted(t, kafkaAddr, "clean", high)
	clean.stop(t)

	crashStates, cleanStates := readStates(t, rd, crashNS, ids), readStates(t, rd, cleanNS, ids)
	crashStore, err := redis.Open(ctx, rd, redis.Options{Namespace: crashNS})
	if err != nil {
		t.Fatal(err)
	}
	defer crashStore.Close()
	want := &twinsync.Rebuilt{States: map[string]*twin.State{}}
	for i, id := range ids {
		if cleanStates[i] != nil {
			want.States[id] = cleanStates[i]
		}
	}
	diffs, err := twinsync.Verify(ctx, crashStore, want, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("state after the kills differs from the clean run: %s", d)
	}
	withState := 0
	for i, id := range ids {
		a, _ := json.Marshal(crashStates[i])
		b, _ := json.Marshal(cleanStates[i])
		if string(a) != string(b) {
			t.Errorf("%s: state after the kills\n  %s\nclean run\n  %s", id, a, b)
		}
		if cleanStates[i] != nil {
			withState++
		}
	}

	crashDB, cleanDB := readDatabase(t, crashPG), readDatabase(t, cleanPG)
	compareRows(t, "history row", crashDB.samples, cleanDB.samples)
	compareSeriesCounts(t, crashDB.samples, cleanDB.samples)
	compareRows(t, "event", crashDB.events, cleanDB.events)
	for _, tier := range rollupTiers {
		compareRollups(t, tier, crashDB.rollups[tier], cleanDB.rollups[tier])
	}

	// The script must have exercised what it is meant to.
	kinds := map[string]int{}
	for _, e := range cleanDB.events {
		kinds[strings.SplitN(e, "|", 3)[1]]++
	}
	for _, k := range twin.EventKinds {
		if kinds[string(k)] == 0 {
			t.Errorf("the clean run has no %s event: the script does not cover it", k)
		}
	}
	bad := 0
	for _, r := range cleanDB.samples {
		if strings.HasSuffix(r, "|false") {
			bad++
		}
	}
	if bad == 0 || withState < 20 {
		t.Errorf("the script covers %d assets and %d out-of-range samples", withState, bad)
	}
	t.Logf("compared %d states, %d history rows (%d out of range), %d events %v",
		withState, len(cleanDB.samples), bad, len(cleanDB.events), kinds)

	// A rebuild swaps a replay of the log in for the live state: the same
	// states, read back through the swapped-in namespace (on a cluster, a
	// new generation).
	if code, out := runCmd(t, "rebuild", "--model", "../../examples/plant.yaml", "--kafka", kafkaAddr, "--redis", rd, "--namespace", crashNS); code != 0 || !strings.Contains(out, "replaced the live state") {
		t.Fatalf("rebuild exited %d:\n%s", code, out)
	}
	for i, st := range readStates(t, rd, crashNS, ids) {
		a, _ := json.Marshal(st)
		b, _ := json.Marshal(cleanStates[i])
		if string(a) != string(b) {
			t.Errorf("%s: state after rebuild\n  %s\nclean run\n  %s", ids[i], a, b)
		}
	}
}

// dumpLogs shows the end of every worker's log, to tell what went wrong.
func dumpLogs(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("%s (last %d of %d lines):\n%s", filepath.Base(f), min(40, len(lines)), len(lines),
			strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}

// syncProc is one `twingraph sync` process with its log file.
type syncProc struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// startSync starts `twingraph sync` with args, logging to logPath. The
// process is killed at cleanup if it still runs, and with the test binary
// should that die first.
func startSync(t *testing.T, bin, logPath string, args ...string) *syncProc {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, append([]string{"sync"}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &syncProc{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// kill ends the process with SIGKILL and waits for it to be gone.
func (p *syncProc) kill(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("%s exited before it was killed:\n%s", p.log, p.output())
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// stop ends the process with SIGTERM; it must exit 0.
func (p *syncProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: %v\n%s", p.log, err, p.output())
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM:\n%s", p.log, p.output())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("%s exited %d:\n%s", p.log, code, p.output())
	}
}

func (p *syncProc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

var assignedRE = regexp.MustCompile(`msg="partitions assigned".* partitions="?\[([0-9 ]+)\]`)

// assigned returns every partition the process logged as assigned to it.
func (p *syncProc) assigned(t *testing.T) []string {
	var parts []string
	for _, m := range assignedRE.FindAllStringSubmatch(p.output(), -1) {
		parts = append(parts, strings.Fields(m[1])...)
	}
	return parts
}

// lastAssigned returns the partitions of the process's latest assignment.
func (p *syncProc) lastAssigned() []int32 {
	all := assignedRE.FindAllStringSubmatch(p.output(), -1)
	if len(all) == 0 {
		return nil
	}
	var parts []int32
	for _, f := range strings.Fields(all[len(all)-1][1]) {
		n, _ := strconv.Atoi(f)
		parts = append(parts, int32(n))
	}
	return parts
}

// waitTakeover waits until the process's latest assignment holds parts.
func (p *syncProc) waitTakeover(t *testing.T, parts []int32) {
	t.Helper()
	if !eventually(t, 60*time.Second, func() bool {
		got := p.lastAssigned()
		for _, q := range parts {
			if !slices.Contains(got, q) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("%s never took partitions %v over:\n%s", p.log, parts, p.output())
	}
}

// waitAssigned waits until the process owns partitions, so a kill lands on a
// worker that is consuming rather than one still joining the group.
func (p *syncProc) waitAssigned(t *testing.T) {
	t.Helper()
	ok := eventually(t, 60*time.Second, func() bool {
		select {
		case <-p.exited:
			return true
		default:
		}
		return len(p.assigned(t)) > 0
	})
	select {
	case <-p.exited:
		t.Fatalf("%s exited:\n%s", p.log, p.output())
	default:
	}
	if !ok {
		t.Fatalf("%s was never assigned a partition:\n%s", p.log, p.output())
	}
}

// scriptMsg is one telemetry message of the script and its key (the asset id,
// raw device messages included, so each asset's telemetry is on one partition).
type scriptMsg struct{ key, value string }

// scriptProducer sends the script with the production Kafka client and keeps
// each partition's high watermark from the delivery reports.
type scriptProducer struct {
	p    *kafka.Producer
	mu   sync.Mutex
	next map[int32]int64
}

func newScriptProducer(t *testing.T, brokers string) *scriptProducer {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers, "enable.metrics.push": false,
		"linger.ms": 5, "enable.idempotence": true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &scriptProducer{p: p, next: map[int32]int64{}}
}

// send produces msgs in order and waits until every one is delivered.
func (s *scriptProducer) send(t *testing.T, msgs []scriptMsg) {
	t.Helper()
	s.start(t, msgs, false)()
}

// start produces msgs in order, trickling them out in slices of a few
// every few milliseconds when trickle is set; the returned function waits
// until every one is delivered.
func (s *scriptProducer) start(t *testing.T, msgs []scriptMsg, trickle bool) (delivered func()) {
	t.Helper()
	topic := twinsync.DefaultTopic
	deliveries := make(chan kafka.Event, len(msgs))
	produced := make(chan error, 1)
	produce := func() {
		for i, m := range msgs {
			if trickle && i > 0 && i%8 == 0 {
				time.Sleep(3 * time.Millisecond)
			}
			if err := s.p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Key: []byte(m.key), Value: []byte(m.value)}, deliveries); err != nil {
				produced <- err
				return
			}
		}
		produced <- nil
	}
	if trickle {
		go produce()
	} else {
		produce()
	}
	return func() {
		t.Helper()
		if err := <-produced; err != nil {
			t.Fatal(err)
		}
		for range msgs {
			select {
			case e := <-deliveries:
				m, ok := e.(*kafka.Message)
				if !ok {
					t.Fatalf("delivery report %v", e)
				}
				if m.TopicPartition.Error != nil {
					t.Fatal(m.TopicPartition.Error)
				}
				tp := m.TopicPartition
				s.mu.Lock()
				s.next[tp.Partition] = max(s.next[tp.Partition], int64(tp.Offset)+1)
				s.mu.Unlock()
			case <-time.After(30 * time.Second):
				t.Fatal("delivery timed out")
			}
		}
	}
}

// high returns the next offset of every partition written to.
func (s *scriptProducer) high() map[int32]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.next)
}

// committed returns group's committed offset of each partition in parts (0
// when none).
func committed(brokers, group string, parts []int32) (map[int32]int64, error) {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers, "enable.metrics.push": false})
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	return committedBy(admin, group, parts)
}

// committedBy is committed with an admin client.
func committedBy(admin *kafka.AdminClient, group string, parts []int32) (map[int32]int64, error) {
	topic := twinsync.DefaultTopic
	var tps []kafka.TopicPartition
	for _, p := range parts {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: group, Partitions: tps}})
	if err != nil {
		return nil, err
	}
	if len(res.ConsumerGroupsTopicPartitions) != 1 {
		return nil, fmt.Errorf("offsets of %d groups", len(res.ConsumerGroupsTopicPartitions))
	}
	out := map[int32]int64{}
	for _, tp := range res.ConsumerGroupsTopicPartitions[0].Partitions {
		if tp.Error != nil {
			return nil, tp.Error
		}
		out[tp.Partition] = max(int64(tp.Offset), 0) // OffsetInvalid when nothing is committed
	}
	return out, nil
}

// waitCommitted waits until group has committed high on every partition: every
// record was written to the stores (the worker commits only after that).
func waitCommitted(t *testing.T, brokers, group string, high map[int32]int64) {
	t.Helper()
	var parts []int32
	for p := range high {
		parts = append(parts, p)
	}
	var last string
	if !eventually(t, 90*time.Second, func() bool {
		got, err := committed(brokers, group, parts)
		if err != nil {
			last = err.Error()
			return false
		}
		behind, detail := int64(0), ""
		for _, p := range parts {
			if got[p] < high[p] {
				behind += high[p] - got[p]
				detail += fmt.Sprintf(" %d:%d/%d", p, got[p], high[p])
			}
		}
		last = fmt.Sprintf("%d records not committed (partition:committed/high%s)", behind, detail)
		return behind == 0
	}) {
		t.Fatalf("group %s never caught up: %s", group, last)
	}
}

// killEffect is what a kill left behind on the killed worker's partitions.
type killEffect struct {
	// uncommitted counts records past the committed offsets: the next owner
	// reads them again.
	uncommitted int
	// applied counts those of them already in the states (stamped with their
	// offsets): the kill fell between writing and committing, and the next
	// owner must skip them.
	applied int
}

// watcher observes the crash group: its committed offsets and the offsets
// applied to the states.
type watcher struct {
	admin  *kafka.AdminClient
	states *redis.Store
	group  string
	ids    []string
}

func newWatcher(t *testing.T, brokers, group, redisURL, ns string, ids []string) *watcher {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers, "enable.metrics.push": false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	st, err := redis.Open(context.Background(), redisURL, redis.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return &watcher{admin: admin, states: st, group: group, ids: ids}
}

// observe returns what lies past the committed offsets of parts.
func (w *watcher) observe(t *testing.T, parts []int32, high map[int32]int64) killEffect {
	t.Helper()
	got, appliedTo := w.offsets(t, parts)
	var k killEffect
	for _, p := range parts {
		k.uncommitted += int(max(0, high[p]-got[p]))
		k.applied += int(max(0, appliedTo[p]-got[p]))
	}
	return k
}

// offsets returns the committed offset of each of parts and the offset after
// the newest record applied to the states of its assets.
func (w *watcher) offsets(t *testing.T, parts []int32) (committed, applied map[int32]int64) {
	t.Helper()
	committed, err := committedBy(w.admin, w.group, parts)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := w.states.GetStates(context.Background(), w.ids)
	if err != nil {
		t.Fatal(err)
	}
	applied = map[int32]int64{}
	for _, st := range sts {
		if st == nil {
			continue
		}
		for key, off := range st.Offsets {
			if i := strings.LastIndexByte(key, '/'); i >= 0 {
				if p, err := strconv.Atoi(key[i+1:]); err == nil {
					applied[int32(p)] = max(applied[int32(p)], off+1)
				}
			}
		}
	}
	return committed, applied
}

// waitApplied waits until the worker owning parts has applied records newer
// than those applied when it is called, and has not committed them yet; or
// until a few seconds have passed.
func (w *watcher) waitApplied(t *testing.T, parts []int32) {
	t.Helper()
	_, before := w.offsets(t, parts)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		committed, applied := w.offsets(t, parts)
		for _, p := range parts {
			if applied[p] > before[p] && applied[p] > committed[p] {
				return
			}
		}
	}
	t.Logf("partitions %v: no applied and uncommitted records seen", parts)
}

// readStates reads the states of ids from a Redis namespace.
func readStates(t *testing.T, url, ns string, ids []string) []*twin.State {
	t.Helper()
	s, err := redis.Open(context.Background(), url, redis.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sts, err := s.GetStates(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

// rollupTiers are the plain-PostgreSQL rollup tables (sql/0002_samples.postgres.sql).
var rollupTiers = []string{"samples_1m", "samples_5m", "samples_1h", "samples_1d"}

// rollup is one rollup row's aggregates.
type rollup struct {
	count                   int64
	sum, min, max, first, l float64
	firstTS, lastTS         time.Time
}

// dbContents is what the sync worker wrote to PostgreSQL: history rows and
// events as "key|rest" strings keyed by their unique key, and the rollups.
type dbContents struct {
	samples map[string]string // asset|signal|ts → asset|signal|ts|kind|num|txt|good
	events  map[string]string // id → id|kind|asset|ts|payload
	rollups map[string]map[string]rollup
}

// readDatabase reads history, events and rollups with plain SQL, not through
// the store, so a store bug cannot hide itself. The rollup tiers are first
// materialised up to now (the workers materialise as they go, each run to
// its own point), so the tables of two runs are comparable row by row.
func readDatabase(t *testing.T, url string) dbContents {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.RunJobs(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := dbContents{samples: map[string]string{}, events: map[string]string{}, rollups: map[string]map[string]rollup{}}

	rows, err := conn.Query(ctx, `SELECT asset, signal, ts, kind, num, txt, good FROM samples`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var asset, signal, kind string
		var ts time.Time
		var num *float64
		var txt *string
		var good bool
		if err := rows.Scan(&asset, &signal, &ts, &kind, &num, &txt, &good); err != nil {
			t.Fatal(err)
		}
		key := asset + "|" + signal + "|" + ts.UTC().Format(time.RFC3339Nano)
		n, s := "null", "null"
		if num != nil {
			n = strconv.FormatFloat(*num, 'g', -1, 64)
		}
		if txt != nil {
			s = strconv.Quote(*txt)
		}
		if _, dup := out.samples[key]; dup {
			t.Errorf("history row %s stored twice", key)
		}
		out.samples[key] = key + "|" + kind + "|" + n + "|" + s + "|" + strconv.FormatBool(good)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	rows, err = conn.Query(ctx, `SELECT id, kind, asset, ts, payload::text FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, kind, asset, payload string
		var ts time.Time
		if err := rows.Scan(&id, &kind, &asset, &ts, &payload); err != nil {
			t.Fatal(err)
		}
		if _, dup := out.events[id]; dup {
			t.Errorf("event %s stored twice", id)
		}
		out.events[id] = id + "|" + kind + "|" + asset + "|" + ts.UTC().Format(time.RFC3339Nano) + "|" + payload
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	for _, tier := range rollupTiers {
		rows, err := conn.Query(ctx, `SELECT asset, signal, bucket, count, sum, min, max, first, first_ts, last, last_ts FROM `+tier)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]rollup{}
		for rows.Next() {
			var asset, signal string
			var bucket time.Time
			var r rollup
			if err := rows.Scan(&asset, &signal, &bucket, &r.count, &r.sum, &r.min, &r.max, &r.first, &r.firstTS, &r.l, &r.lastTS); err != nil {
				t.Fatal(err)
			}
			got[asset+"|"+signal+"|"+bucket.UTC().Format(time.RFC3339)] = r
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		out.rollups[tier] = got
	}
	return out
}

// compareRows reports rows missing from or extra in got (after the kills)
// against want (the clean run), or whose content differs.
func compareRows(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var missing, extra, changed []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, w)
		case g != w:
			changed = append(changed, "got "+g+", want "+w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, g)
		}
	}
	for _, l := range []struct {
		name string
		rows []string
	}{{"lost", missing}, {"extra", extra}, {"different", changed}} {
		if len(l.rows) == 0 {
			continue
		}
		slices.Sort(l.rows)
		t.Errorf("%d %s %ss after the kills (of %d), first: %s", len(l.rows), l.name, what, len(want), l.rows[0])
	}
}

// compareSeriesCounts reports history row counts per (asset, signal) that differ.
func compareSeriesCounts(t *testing.T, got, want map[string]string) {
	t.Helper()
	count := func(rows map[string]string) map[string]int {
		c := map[string]int{}
		for k := range rows {
			parts := strings.SplitN(k, "|", 3)
			c[parts[0]+" "+parts[1]]++
		}
		return c
	}
	g, w := count(got), count(want)
	for k := range w {
		if g[k] != w[k] {
			t.Errorf("history rows of %s: %d after the kills, %d in the clean run", k, g[k], w[k])
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("history rows of %s: %d after the kills, none in the clean run", k, g[k])
		}
	}
}

// compareRollups compares one rollup tier. Counts, extrema, first and last are
// exact; sums were added up in a different batch order, so they may differ in
// the last bits.
func compareRollups(t *testing.T, tier string, got, want map[string]rollup) {
	t.Helper()
	if len(want) == 0 {
		t.Errorf("%s: the clean run has no rollup rows", tier)
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		same := ok && g.count == w.count && g.min == w.min && g.max == w.max && g.first == w.first && g.l == w.l &&
			g.firstTS.Equal(w.firstTS) && g.lastTS.Equal(w.lastTS) &&
			math.Abs(g.sum-w.sum) <= 1e-9*math.Max(1, math.Abs(w.sum))
		if !same {
			if bad++; bad <= 3 {
				t.Errorf("%s %s: after the kills %+v (present %v), clean run %+v", tier, k, g, ok, w)
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			if bad++; bad <= 3 {
				t.Errorf("%s %s: after the kills %+v, none in the clean run", tier, k, g)
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d rollup rows differ", tier, bad)
	}
}

// rawTags are the demo plant's raw device tags the script sends, by asset:
// device, tag and a raw value range.
var rawTags = map[string][]struct {
	device, tag string
	lo, hi      float64
}{
	"plant/jkt1/packaging/line3": {
		{"plc-17", "1024", 300, 700},   // press1_bar × 100
		{"plc-17", "1025", 400, 900},   // temp1_c × 10
		{"plc-17", "1026", 50, 900},    // vibration × 100
		{"plc-17", "901", 0, 50000},    // good units
		{"plc-17", "902", 0, 52000},    // total units
		{"plc-17", "900", 0, 260},      // speed, unscaled
		{"plc-17", "1027", 0, 1},       // not in the signal map: dead-lettered
		{"plc-17", "1024", 1200, 1300}, // 12-13 bar: out of range, bad quality
	},
	"plant/jkt1/processing/cooking/pump1": {{"rio-3", "AI1", 4, 20}},
	"plant/jkt1/processing/cooking/oven1": {{"tc-8", "Z1.PV", 1200, 2400}, {"tc-8", "Z2.PV", 1200, 2400}},
}

// crashScript is a deterministic stretch of plant telemetry across the site's
// local midnight: every asset with signals reports each round (curated
// objects, sometimes one message per signal), mapped raw tags come from the
// PLC, the remote I/O and the oven controller, and among them are power
// cuts, fault sets that grow and shrink, product and batch changes,
// out-of-range values, late samples, messages produced twice and a few bad
// messages for the dead-letter topic.
func crashScript(t *testing.T, m *Main) []scriptMsg {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 17))
	t0 := time.Date(2026, 11, 24, 16, 45, 0, 0, time.UTC) // 23:45 in Jakarta
	const rounds = 110
	products := []string{"SKU-COLA-330", "SKU-TEA-600", "SKU-WATER-1500"}
	codes := []string{"E101", "E204", "E310", "E415"}

	curated := func(asset, signal, value string, at time.Time) string {
		return fmt.Sprintf(`{"asset":%q,"signal":%q,"value":%s,"ts":%q}`, asset, signal, value, at.Format(time.RFC3339Nano))
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

	var out []scriptMsg
	last := map[string]string{} // the previous message of each asset, to produce again
	for r := range rounds {
		for ai, a := range m.Model.Assets() {
			typ := m.Model.Type(a.Type)
			if typ == nil || len(typ.Signals) == 0 {
				continue
			}
			at := t0.Add(time.Duration(r)*10*time.Second + time.Duration(ai)*37*time.Millisecond)
			var elems []string
			for si, s := range typ.Signals {
				var v string
				switch {
				case s.Kind == twin.KindBool:
					v = strconv.FormatBool((r+3*ai)%37 != 36)
				case s.Kind == twin.KindList:
					// Faults come and go in overlapping sets: one code, two, one, none.
					var set []string
					switch phase := (r + 5*ai) % 23; {
					case phase >= 10 && phase < 13:
						set = []string{codes[ai%4]}
					case phase == 13:
						set = []string{codes[ai%4], codes[(ai+1)%4]}
					case phase == 14:
						set = []string{codes[(ai+1)%4]}
					}
					b, _ := json.Marshal(set)
					if set == nil {
						b = []byte("[]")
					}
					v = string(b)
				case s.Name == typ.ProductSignal:
					if (r+ai)%30 != 0 {
						continue
					}
					v = strconv.Quote(products[(r/30+ai)%len(products)])
				case s.Name == typ.BatchSignal:
					if (r+ai)%15 != 0 {
						continue
					}
					v = strconv.Quote(fmt.Sprintf("B-%02d-%03d", ai, (r+ai)/15))
				case s.Kind == twin.KindString:
					continue
				default:
					if r > 0 && rng.IntN(10) < 3 {
						continue // not every signal every round
					}
					lo, hi := 0.0, 100.0
					if s.Min != nil {
						lo = *s.Min
					}
					if s.Max != nil {
						hi = *s.Max
					}
					x := lo + (hi-lo)*(0.2+0.7*rng.Float64())
					switch p := rng.IntN(60); {
					case p < 5 && si == 1:
						x = 0 // the main rate signal stops: IDLE
					case p == 59 && s.Max != nil:
						x = *s.Max * 1.5 // out of range: history only, bad quality
					}
					v = num(x)
				}
				elems = append(elems, curated(a.ID, s.Name, v, at))
			}
			if rng.IntN(12) == 0 {
				for _, e := range elems {
					out = append(out, scriptMsg{a.ID, e})
				}
			} else {
				out = append(out, scriptMsg{a.ID, "[" + strings.Join(elems, ",") + "]"})
			}
			if prev, ok := last[a.ID]; ok && rng.IntN(17) == 0 {
				out = append(out, scriptMsg{a.ID, prev}) // the gateway retried: the same payload again
			}
			last[a.ID] = "[" + strings.Join(elems, ",") + "]"
			if r > 3 && rng.IntN(13) == 0 {
				// A late sample: older than the current value, history only.
				late := at.Add(-25*time.Second - 3*time.Millisecond)
				for _, s := range typ.Signals {
					if s.Kind == twin.KindNumber && s.Max != nil {
						out = append(out, scriptMsg{a.ID, curated(a.ID, s.Name, num(*s.Max/3), late)})
						break
					}
				}
			}
			if tags := rawTags[a.ID]; len(tags) > 0 {
				ms := at.Add(5 * time.Millisecond).UnixMilli()
				var raw []string
				for i, tg := range tags {
					if i >= len(tags)-2 && len(tags) > 2 && rng.IntN(8) != 0 {
						continue // the unmapped and out-of-range tags only now and then
					}
					raw = append(raw, fmt.Sprintf(`{"device":%q,"tag":%q,"value":%s,"ts":%d}`,
						tg.device, tg.tag, num(tg.lo+(tg.hi-tg.lo)*rng.Float64()), ms))
				}
				if len(raw) == 1 {
					out = append(out, scriptMsg{a.ID, raw[0]})
				} else {
					out = append(out, scriptMsg{a.ID, "[" + strings.Join(raw, ",") + "]"})
				}
			}
		}
		if r%40 == 20 {
			line1 := "plant/jkt1/packaging/line1"
			out = append(out,
				scriptMsg{line1, `{"asset":` + strconv.Quote(line1) + `,"signal":"speed"`},
				scriptMsg{line1, curated("plant/jkt1/packaging/line9", "power_on", "true", t0)},
				scriptMsg{line1, curated(line1, "speed_units_per_min", `"fast"`, t0.Add(time.Duration(r)*10*time.Second))},
			)
		}
	}
	for _, tags := range rawTags {
		for _, tg := range tags {
			if _, ok := m.Model.Mapping(tg.device, tg.tag); !ok && tg.tag != "1027" {
				t.Fatalf("raw tag %s/%s is not in the demo plant's signal map", tg.device, tg.tag)
			}
		}
	}
	return out
}
