package twinsync

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twingraph/twingraph/internal/promreg"
)

// metrics are the worker's Prometheus series (namespace twingraph_sync_).
type metrics struct {
	messages    prometheus.Counter
	samples     prometheus.Counter
	events      prometheus.Counter
	dlq         *prometheus.CounterVec
	batches     prometheus.Counter
	flush       prometheus.Histogram
	storeErrors prometheus.Counter
	commits     prometheus.Counter
	lag         *prometheus.GaugeVec
	lagSeconds  *prometheus.GaugeVec
	stage       *prometheus.HistogramVec
	assigned    prometheus.Gauge
	deadLetters prometheus.Counter
	dlqDropped  prometheus.Counter
	oldestAge   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		// A private registry: the metrics still count (Stats reads the same
		// numbers), and several workers in one process never collide.
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		messages: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "messages_total", Help: "Telemetry messages consumed and flushed."}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "samples_total", Help: "Curated samples decoded and written to history (late and bad ones included)."}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "events_total", Help: "Business events written."}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "dlq_total", Help: "Rejected telemetry elements sent to the dead-letter topic, by reason code."}, []string{"reason"}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "batches_total", Help: "Batches flushed and committed."}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "flush_seconds", Help: "Time to apply, write and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "store_errors_total", Help: "Failed flush attempts (store or dead-letter writes); each is retried."}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "commits_total", Help: "Offset commits."}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "lag_messages", Help: "Messages between the committed offset and the high watermark per assigned partition (updated every second)."}, []string{"partition"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "lag_seconds", Help: "Per assigned partition, how long ago the oldest record read but not yet applied was produced (0: none waiting; updated every second)."}, []string{"partition"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "flush_stage_seconds", Help: "Time of each stage of a flush (one observation per attempt), by stage.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"stage"}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "assigned_partitions", Help: "Partitions this worker owns."}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "dead_letters_total", Help: "Dead-letter records written: one per refused source record."}),
		dlqDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "dead_letters_dropped_total", Help: "Dead letters the broker refused for good; logged and skipped."}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "twingraph", Subsystem: "sync",
			Name: "oldest_unapplied_seconds", Help: "How long the oldest record read has waited to be applied (0: none waiting); it grows while a partition is stalled."}),
	}
	var err error
	reg1 := func(c prometheus.Collector) prometheus.Collector {
		if err != nil {
			return c
		}
		// A second worker in the process shares the series.
		shared, e := promreg.Register(reg, c)
		if e != nil {
			err = e
			return c
		}
		return shared
	}
	m.messages = reg1(m.messages).(prometheus.Counter)
	m.samples = reg1(m.samples).(prometheus.Counter)
	m.events = reg1(m.events).(prometheus.Counter)
	m.dlq = reg1(m.dlq).(*prometheus.CounterVec)
	m.batches = reg1(m.batches).(prometheus.Counter)
	m.flush = reg1(m.flush).(prometheus.Histogram)
	m.storeErrors = reg1(m.storeErrors).(prometheus.Counter)
	m.commits = reg1(m.commits).(prometheus.Counter)
	m.lag = reg1(m.lag).(*prometheus.GaugeVec)
	m.lagSeconds = reg1(m.lagSeconds).(*prometheus.GaugeVec)
	m.stage = reg1(m.stage).(*prometheus.HistogramVec)
	m.assigned = reg1(m.assigned).(prometheus.Gauge)
	m.deadLetters = reg1(m.deadLetters).(prometheus.Counter)
	m.dlqDropped = reg1(m.dlqDropped).(prometheus.Counter)
	m.oldestAge = reg1(m.oldestAge).(prometheus.Gauge)
	if err != nil {
		return nil, fmt.Errorf("register sync metrics: %w", err)
	}
	return m, nil
}

func partLabel(p int32) string { return strconv.Itoa(int(p)) }
