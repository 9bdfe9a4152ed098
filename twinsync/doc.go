// Package twinsync keeps asset states in step with the telemetry log: a Kafka
// consumer-group worker reads records, applies each batch with
// ingest.ApplyBatch (the pure rules: decode, then per asset in log order
// Transition), and writes the results to the stores with an exactly-once
// effect (history and events, then states, then offsets), dead-letters what
// ingest refused, and rebuilds state from the log with the same function.
package twinsync
