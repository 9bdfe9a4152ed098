// Package broker runs an embedded Kafka-protocol broker (franz-go kfake) for
// development and tests: one node listening on a chosen address, with the
// telemetry topics created. It keeps everything in memory; a restarted broker
// is a new cluster with new topic ids, which the sync worker treats as a new log.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// The topics the embedded broker creates.
const (
	// TelemetryTopic receives the telemetry messages.
	TelemetryTopic = "telemetry"
	// TelemetryPartitions is the partition count of TelemetryTopic.
	TelemetryPartitions = 6
	// DLQTopic receives telemetry the sync worker could not apply.
	DLQTopic = "telemetry.dlq"
	// DLQPartitions is the partition count of DLQTopic.
	DLQPartitions = 1
)

// Broker is a running embedded broker.
type Broker struct {
	cluster   *kfake.Cluster
	addr      string
	logger    *slog.Logger
	closeOnce sync.Once
	closed    chan struct{}
}

// Start starts a one-node broker listening on listen ("127.0.0.1:9092", or a
// port of 0 for a free one) and creates the telemetry topics. The address it
// advertises to clients is the listen address with the real port; an empty or
// unspecified host is advertised as 127.0.0.1, since clients cannot connect to
// 0.0.0.0. The broker stops when ctx ends or Close is called. A nil logger logs nothing.
func Start(ctx context.Context, listen string, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("kafka listen address %q: %w", listen, err)
	}
	advHost := host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		advHost = "127.0.0.1"
	}
	var advertised string
	listenFn := func(network, _ string) (net.Listener, error) {
		// kfake always asks for 127.0.0.1; we listen where we were told instead.
		ln, err := net.Listen(network, listen)
		if err != nil {
			return nil, err
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		advertised = net.JoinHostPort(advHost, port)
		return &advListener{Listener: ln, addr: advAddr(advertised)}, nil
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.ListenFn(listenFn),
		// A fresh cluster id per start: a restarted dev broker is a new log.
		kfake.ClusterID("twingraph-"+strconv.FormatInt(int64(randID()), 36)),
		kfake.SeedTopics(TelemetryPartitions, TelemetryTopic),
		kfake.SeedTopics(DLQPartitions, DLQTopic),
		kfake.WithLogger(kfakeLogger{logger}),
	)
	if err != nil {
		return nil, fmt.Errorf("start kafka broker on %s: %w", listen, err)
	}
	b := &Broker{cluster: c, addr: advertised, logger: logger, closed: make(chan struct{})}
	logger.Info("kafka broker listening", "addr", advertised)
	if ctx != nil && ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				b.Close()
			case <-b.closed:
			}
		}()
	}
	return b, nil
}

// Addr returns the bootstrap address clients use ("127.0.0.1:9092").
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker and drops its data. It is safe to call more than once.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		b.cluster.Close()
		close(b.closed)
		b.logger.Info("kafka broker stopped", "addr", b.addr)
	})
}
