package testenv_test

import (
	"bufio"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/internal/testenv"
)

func TestRedis_Answers(t *testing.T) {
	u, err := url.Parse(testenv.Redis(t))
	if err != nil || u.Scheme != "redis" {
		t.Fatalf("bad url %v: %v", u, err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PING\r\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "+PONG") {
		t.Fatalf("PING: %q %v", line, err)
	}
	if a, b := testenv.RedisNamespace(t), testenv.RedisNamespace(t); a == b || strings.ContainsAny(a, "{}") {
		t.Fatalf("namespaces %q %q", a, b)
	}
}

func TestNewRedisCluster(t *testing.T) {
	c := testenv.NewRedisCluster(t, 1)
	if len(c.Addrs) != 6 || !strings.Contains(c.URL, "addr=") {
		t.Fatalf("cluster %+v", c)
	}
	masters := func() map[string]bool {
		m := map[string]bool{}
		for _, n := range c.Nodes(t, c.Addrs[0]) {
			if n.Master {
				m[n.Addr] = true
			}
		}
		return m
	}
	if len(masters()) != 3 {
		t.Fatalf("masters %v", masters())
	}
	t.Run("Failover", func(t *testing.T) {
		from, to := c.Failover(t)
		m := masters()
		if m[from] || !m[to] || len(m) != 3 {
			t.Fatalf("after failover %s -> %s: masters %v", from, to, m)
		}
	})
}
