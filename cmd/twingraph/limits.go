package main

import (
	"flag"
	"time"

	"github.com/twingraph/twingraph/ingest"
	"github.com/twingraph/twingraph/twinsync"
)

// maxDLQPayload caps --dlq-max-payload: half the broker's default message
// size leaves room for the key and headers.
const maxDLQPayload = 512 << 10

// limitFlags bound what the sync worker accepts from telemetry and say when
// it counts as stalled. Rebuild takes the decode limits too: it must judge
// each record as the live workers did.
type limitFlags struct {
	maxMessageBytes int
	maxClockSkew    time.Duration
	dlqMaxPayload   int
	stallAfter      time.Duration
}

// registerDecode adds the flags that change how telemetry decodes (sync, dev, rebuild).
func (l *limitFlags) registerDecode(fs *flag.FlagSet) {
	fs.IntVar(&l.maxMessageBytes, "max-message-bytes", ingest.DefaultMaxMessageBytes,
		"refuse a larger telemetry message whole (dead letter too_large)")
	fs.DurationVar(&l.maxClockSkew, "max-clock-skew", ingest.DefaultMaxClockSkew,
		"refuse a sample dated more than this after its record was produced (dead letter bad_ts)")
}

// register adds every limit flag (sync, dev).
func (l *limitFlags) register(fs *flag.FlagSet) {
	l.registerDecode(fs)
	fs.IntVar(&l.dlqMaxPayload, "dlq-max-payload", twinsync.DefaultDLQMaxPayload,
		"bytes of a refused record's value its dead letter keeps (the rest is cut)")
	fs.DurationVar(&l.stallAfter, "stall-after", twinsync.DefaultStallAfter,
		"report not ready once a record read has waited this long to be applied")
}

// limits checks the decode flags and returns them as sync limits.
func (l *limitFlags) limits() (ingest.Limits, error) {
	if l.maxMessageBytes < 1 {
		return ingest.Limits{}, usagef("--max-message-bytes must be at least 1")
	}
	if l.maxClockSkew <= 0 {
		return ingest.Limits{}, usagef("--max-clock-skew must be above 0")
	}
	return ingest.Limits{MaxMessageBytes: l.maxMessageBytes, MaxClockSkew: l.maxClockSkew}, nil
}

// apply checks the flags and sets them on a worker's config.
func (l *limitFlags) apply(cfg *twinsync.Config) error {
	lim, err := l.limits()
	if err != nil {
		return err
	}
	if l.dlqMaxPayload < 1 || l.dlqMaxPayload > maxDLQPayload {
		return usagef("--dlq-max-payload must be from 1 to %d (a dead letter must fit the dead-letter topic)", maxDLQPayload)
	}
	if l.stallAfter <= 0 {
		return usagef("--stall-after must be above 0")
	}
	cfg.Limits, cfg.DLQMaxPayload, cfg.StallAfter = lim, l.dlqMaxPayload, l.stallAfter
	return nil
}
