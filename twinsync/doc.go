// Package twinsync keeps asset states in step with the telemetry log: a Kafka
// consumer-group worker reads records, applies them in log order per asset
// with the pure rules of package ingest, and writes the results to the stores
// with an exactly-once effect (history and events, then states, then
// offsets), dead-letters what it refuses, and rebuilds state from the log.
package twinsync
