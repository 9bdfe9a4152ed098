package loadtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuSample is the CPU time used so far by each party to a run, read from
// /proc: the twingraph process, PostgreSQL (every postgres process plus the
// reaped children the postmaster counts), redis-server, and this process
// (the load generator and producer).
type cpuSample map[string]time.Duration

// cpuParties names what cpuUse reports, in its order.
var cpuParties = []string{"twingraph", "postgres", "redis", "load generator"}

func sampleCPU(devPID int) cpuSample {
	s := cpuSample{}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // ended meanwhile
		}
		stat := string(b)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || end < open {
			continue
		}
		comm := stat[open+1 : end]
		f := strings.Fields(stat[end+1:]) // f[0] is field 3 (state)
		if len(f) < 15 {
			continue
		}
		tick := func(i int) time.Duration { // field i of stat(5)
			v, _ := strconv.ParseInt(f[i-3], 10, 64)
			return time.Duration(v) * clockTick
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		own := tick(14) + tick(15)
		switch {
		case pid == devPID:
			s["twingraph"] += own
		case pid == os.Getpid():
			s["load generator"] += own
		case comm == "postgres":
			s["postgres"] += own + tick(16) + tick(17) // with its reaped backends
		case strings.HasPrefix(comm, "redis-server"):
			s["redis"] += own
		}
	}
	return s
}

// cpuUse says how much CPU each party used between two samples taken wall
// apart, per 1,000 of n events, and how much of the machine that was.
func cpuUse(before, after cpuSample, wall time.Duration, n int) string {
	var b strings.Builder
	total := time.Duration(0)
	for _, k := range cpuParties {
		d := after[k] - before[k]
		total += d
		fmt.Fprintf(&b, "%s %.1f s (%.2f ms per 1,000), ", k, d.Seconds(), float64(d.Microseconds())/float64(n))
	}
	cores := float64(total) / float64(wall)
	fmt.Fprintf(&b, "in all %.1f s = %.2f of the machine's %d cores over %.1f s; at that cost the cores allow %.0f events/s",
		total.Seconds(), cores, runtime.NumCPU(), wall.Seconds(), float64(n)/total.Seconds()*float64(runtime.NumCPU()))
	return b.String()
}

// processCPU is the CPU time process pid has used so far (0 once it is gone).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	stat := string(b)
	f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	utime, _ := strconv.ParseInt(f[14-3], 10, 64)
	stime, _ := strconv.ParseInt(f[15-3], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// perRequest runs run and adds to its name the CPU time process pid spent
// per request meanwhile.
func perRequest(pid int, run func() latencies) latencies {
	before := processCPU(pid)
	r := run()
	r.name += fmt.Sprintf(" [%.0f µs CPU per request]", float64((processCPU(pid)-before).Microseconds())/float64(r.sent))
	return r
}
