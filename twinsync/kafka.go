package twinsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// baseConfig is the librdkafka configuration every client of the package shares.
func baseConfig(brokers string) kafka.ConfigMap {
	return kafka.ConfigMap{
		"bootstrap.servers": brokers,
		// Brokers without client telemetry (kfake) would otherwise log errors forever.
		"enable.metrics.push": false,
	}
}

// consumerConfig adds what every consumer of the package shares.
func consumerConfig(brokers string) kafka.ConfigMap {
	cfg := baseConfig(brokers)
	// When a consumer's local queue is full librdkafka waits this long before
	// fetching again (default 1 s): a full-second stall each time a lagging
	// worker's queue fills while it catches up.
	cfg["fetch.queue.backoff.ms"] = 20
	// The rebalance timeout librdkafka sends in JoinGroup is this interval
	// (default 5 min): how long the group coordinator waits for every member
	// to rejoin, and (plus 3 s) how long the client waits for the answer.
	// On the embedded broker (kfake) a member killed while its first
	// JoinGroup is parked is never expired by its session timeout: it is
	// dropped only when a rebalance runs out of that time, and until then
	// every survivor sits at zero partitions (or the dead member is handed
	// partitions that nobody reads). Repeated kills chained such waits for
	// many minutes; 30 s bounds each. The worker's loop polls at least every
	// 100 ms even while the stores are down (flushes run on another
	// goroutine), and its rebalance callbacks are bounded well below this (a
	// revocation's flush by revokeFlushTimeout), so a live worker is not
	// dropped for polling too slowly.
	cfg["max.poll.interval.ms"] = 30000
	// librdkafka refuses a poll interval below the session timeout, whose
	// default is 45 s: a dead member is noticed after 10 s instead.
	cfg["session.timeout.ms"] = 10000
	return cfg
}

// logIdentity names the current incarnation of topic for LogPos.Log:
// "topic@<topic id>". The topic id changes when the topic is deleted and
// recreated, and differs on another cluster, so offsets stamped on states are
// never mistaken for a replay of a different log. When the broker does not
// report topic ids it falls back to "topic@cluster:<cluster id>".
func logIdentity(ctx context.Context, admin *kafka.AdminClient, topic string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := admin.DescribeTopics(ctx, kafka.NewTopicCollectionOfTopicNames([]string{topic}))
	if err == nil && len(res.TopicDescriptions) == 1 {
		d := res.TopicDescriptions[0]
		if d.Error.Code() != kafka.ErrNoError {
			return "", fmt.Errorf("describe topic %s: %w", topic, d.Error)
		}
		if id := d.TopicID; id.GetMostSignificantBits() != 0 || id.GetLeastSignificantBits() != 0 {
			return topic + "@" + id.String(), nil
		}
	}
	cid, cerr := admin.ClusterID(ctx)
	if cerr != nil || cid == "" {
		return "", fmt.Errorf("identify topic %s: %w", topic, errors.Join(err, cerr))
	}
	return topic + "@cluster:" + cid, nil
}

// routeLogs sends librdkafka's log lines to logger instead of stderr. Call the
// returned stop after the client is closed (Close stops the client's log
// forwarding, so nothing writes to the channel after it).
func routeLogs(cfg kafka.ConfigMap, logger *slog.Logger) (stop func()) {
	ch := make(chan kafka.LogEvent, 64)
	cfg["go.logs.channel.enable"] = true
	cfg["go.logs.channel"] = ch
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			// librdkafka uses syslog levels: 0-3 errors, 4 warnings, 5-6 info, 7 debug.
			lv := slog.LevelDebug
			switch {
			case ev.Level <= 3:
				lv = slog.LevelError
			case ev.Level == 4:
				lv = slog.LevelWarn
			case ev.Level <= 6:
				lv = slog.LevelInfo
			}
			logger.Log(context.Background(), lv, "kafka client: "+ev.Message, "client", ev.Name, "tag", ev.Tag)
		}
	}()
	return func() {
		close(ch)
		<-done
	}
}
