// Command httpbaseline is the HTTP baseline of the production-path benchmark:
// a minimal server that answers every POST with the body it was last given,
// as JSON — what any HTTP server on this machine pays to take a request and
// send those bytes back, with nothing behind it. POST /answer sets the body
// (the gateway's own answer to the query being measured); any other POST
// reads its request and gets that body. It prints "ready http=ADDR" once it
// listens.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
)

func main() {
	addr := flag.String("http", "127.0.0.1:0", "listen address")
	flag.Parse()
	var answer atomic.Pointer[[]byte]
	empty := []byte(`{"data":null}`)
	answer.Store(&empty)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /answer", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		answer.Store(&b)
	})
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		// Read the request as a GraphQL server must before it can answer.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(*answer.Load())
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ready http=%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}
