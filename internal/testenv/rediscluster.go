package testenv

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisCluster is a private Redis Cluster started for one test.
type RedisCluster struct {
	// URL names every node, as rueidis.ParseURL reads a cluster:
	// redis://host:port?addr=host:port&addr=...
	URL string
	// Addrs are the nodes' host:port, masters first as created.
	Addrs []string
	cli   string
}

// NewRedisCluster starts a private Redis Cluster of three masters, each with
// replicas replicas (0 or 1), on free 127.0.0.1 ports with persistence off in
// temporary directories, and waits until every node reports cluster_state:ok
// and every slot is served. The processes are killed when the test ends (and
// with the test binary should it die first).
//
// When redis-server or redis-cli is missing the test is skipped, or fails
// under CI=true (apt-get install redis-server redis-tools).
func NewRedisCluster(tb testing.TB, replicas int) *RedisCluster {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		_, err = exec.LookPath("redis-cli")
	}
	if err != nil {
		Missing(tb, "redis-server/redis-cli not found (apt-get install redis-server redis-tools): %v", err)
	}
	cli, _ := exec.LookPath("redis-cli")
	c := &RedisCluster{cli: cli}
	for range 3 * (1 + replicas) {
		var addr string
		var lastErr error
		for range 3 { // the free port may be taken between probing and binding
			if addr, _, lastErr = startRedis(tb, bin, "--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1500"); lastErr == nil {
				break
			}
		}
		if lastErr != nil {
			tb.Fatalf("start cluster node: %v", lastErr)
		}
		c.Addrs = append(c.Addrs, addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.URL = "redis://" + c.Addrs[0]
	for i, a := range c.Addrs[1:] {
		c.URL += map[bool]string{true: "?", false: "&"}[i == 0] + "addr=" + a
	}
	c.waitReady(tb, 1+replicas)
	return c
}

// Run runs a command on the node at addr with redis-cli and returns its output.
func (c *RedisCluster) Run(tb testing.TB, addr string, args ...string) string {
	tb.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(c.cli, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redis-cli %s %v: %v\n%s", addr, args, err, out)
	}
	return string(out)
}

// ClusterNode is one line of CLUSTER NODES.
type ClusterNode struct {
	ID, Addr, MasterID string
	Master, Fail       bool
}

// Nodes returns the cluster's nodes as the node at addr sees them.
func (c *RedisCluster) Nodes(tb testing.TB, addr string) []ClusterNode {
	tb.Helper()
	var nodes []ClusterNode
	for _, line := range strings.Split(strings.TrimSpace(c.Run(tb, addr, "cluster", "nodes")), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		a, _, _ := strings.Cut(f[1], "@")
		nodes = append(nodes, ClusterNode{ID: f[0], Addr: a, MasterID: f[3],
			Master: strings.Contains(f[2], "master"), Fail: strings.Contains(f[2], "fail")})
	}
	return nodes
}

// waitReady waits until every node says cluster_state:ok and every master
// has perMaster-1 replicas in sync.
func (c *RedisCluster) waitReady(tb testing.TB, perMaster int) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.ready(tb, perMaster)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redis cluster not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *RedisCluster) ready(tb testing.TB, perMaster int) error {
	for _, a := range c.Addrs {
		if info := c.Run(tb, a, "cluster", "info"); !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state not ok", a)
		}
		masters := 0
		for _, n := range c.Nodes(tb, a) {
			if n.Fail {
				return fmt.Errorf("%s sees %s failing", a, n.Addr)
			}
			if n.Master {
				masters++
			}
		}
		if masters != 3 {
			return fmt.Errorf("%s sees %d masters", a, masters)
		}
		role := c.Run(tb, a, "info", "replication")
		if strings.Contains(role, "role:master") && !strings.Contains(role, fmt.Sprintf("connected_slaves:%d", perMaster-1)) {
			return fmt.Errorf("%s: replicas not connected", a)
		}
		if strings.Contains(role, "role:slave") && !strings.Contains(role, "master_link_status:up") {
			return fmt.Errorf("%s: replica link down", a)
		}
	}
	return nil
}

// Failover promotes a replica with a manual CLUSTER FAILOVER (the coordinated
// one: the master stops accepting writes until its replica has caught up, so
// no acknowledged write is lost) and waits until the replica serves as master
// and every node agrees the cluster is ok. It returns the old and the new
// master's address. The cluster must have replicas.
func (c *RedisCluster) Failover(tb testing.TB) (from, to string) {
	tb.Helper()
	nodes := c.Nodes(tb, c.Addrs[0])
	byID := map[string]ClusterNode{}
	for _, n := range nodes {
		byID[n.ID] = n
	}
	for _, n := range nodes {
		if !n.Master && byID[n.MasterID].Master {
			from, to = byID[n.MasterID].Addr, n.Addr
			break
		}
	}
	if to == "" {
		tb.Fatal("failover: no replica in the cluster")
	}
	if out := c.Run(tb, to, "cluster", "failover"); !strings.HasPrefix(out, "OK") {
		tb.Fatalf("CLUSTER FAILOVER on %s: %s", to, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if strings.Contains(c.Run(tb, to, "role"), "master") && c.ready(tb, 2) == nil {
			return from, to
		}
		if time.Now().After(deadline) {
			tb.Fatalf("failover of %s to %s did not complete", from, to)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
