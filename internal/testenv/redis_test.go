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
