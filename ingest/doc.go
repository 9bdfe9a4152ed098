// Package ingest holds the pure rules that turn telemetry into twin state:
// decoding a message into curated samples (or reasons to refuse it), mapping
// raw device tags onto curated signals, Transition, the business state
// machine, and ApplyBatch, which applies a batch of log records (Record) to
// asset states in log order per asset and returns what a reader writes
// (Applied: samples, events, states, dead letters, next offsets). It does no
// I/O and knows no Kafka: the sync worker turns polled messages into Records
// and writes what ApplyBatch returns, and a test or a replay can call it
// directly without the Kafka client (which needs cgo).
package ingest
