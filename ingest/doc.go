// Package ingest holds the pure rules that turn telemetry into twin state:
// decoding a message into curated samples (or reasons to refuse it), mapping
// raw device tags onto curated signals, and Transition, the business state
// machine. It does no I/O and knows no Kafka: the sync worker feeds it
// records and writes what it returns, and a test or a replay can call it
// directly without the Kafka client (which needs cgo).
package ingest
