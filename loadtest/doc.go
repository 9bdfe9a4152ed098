// Package loadtest measures twingraph on its production path, from outside
// the process: the real binary (`twingraph dev --no-sim`) over private
// redis-server and PostgreSQL servers, fed through its Kafka listener by the
// production client and queried over HTTP at fixed rates, each figure beside
// a baseline measured in the same run (raw consume of the same topic, Redis
// GET/MGET, the same aggregate as direct SQL).
//
// It holds benchmarks only; `make bench-e2e` runs them:
//
//	go test ./loadtest -run '^$' -bench ProductionPath -benchtime 1x -timeout 30m -v
package loadtest
