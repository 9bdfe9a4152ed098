package broker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"

	"github.com/twmb/franz-go/pkg/kfake"
)

// advListener reports the advertised address as its own: kfake puts the
// listener's address into metadata responses, and clients must be able to dial it.
type advListener struct {
	net.Listener
	addr net.Addr
}

func (l *advListener) Addr() net.Addr { return l.addr }

// advAddr is a net.Addr holding a host:port string.
type advAddr string

func (a advAddr) Network() string { return "tcp" }
func (a advAddr) String() string  { return string(a) }

func randID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) >> 1
}

// kfakeLogger forwards kfake's log lines to slog at debug level (kfake is chatty),
// except its errors and warnings.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	lv := slog.LevelDebug
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	}
	if !k.l.Enabled(context.Background(), lv) {
		return
	}
	k.l.Log(context.Background(), lv, "kafka broker: "+fmt.Sprintf(format, args...))
}
