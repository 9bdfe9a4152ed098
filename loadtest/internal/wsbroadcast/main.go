// Command wsbroadcast is the fan-out baseline of the production-path
// benchmark: a minimal graphql-transport-ws server that acknowledges each
// connection and subscription and, on POST /flip, sends every subscriber one
// `next` message dated that instant — the least any server has to do to
// reach the same sockets, written by one goroutine per connection as a real
// server's are. It prints "ready http=ADDR" once it listens.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

type hub struct {
	mu   sync.Mutex
	subs map[chan []byte]string // subscriber → its subscription id
}

func (h *hub) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := r.Context()
	var msg struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	read := func() bool {
		_, data, err := conn.Read(ctx)
		return err == nil && json.Unmarshal(data, &msg) == nil
	}
	if !read() || msg.Type != "connection_init" {
		return
	}
	if conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`)) != nil {
		return
	}
	if !read() || msg.Type != "subscribe" {
		return
	}
	out := make(chan []byte, 16)
	h.mu.Lock()
	h.subs[out] = msg.ID
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, out)
		h.mu.Unlock()
	}()
	go func() { // the reader: pings, and the close that ends the connection
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				conn.CloseNow()
				return
			}
		}
	}()
	for {
		select {
		case m := <-out:
			if conn.Write(ctx, websocket.MessageText, m) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// flip sends every subscriber one next message dated now.
func (h *hub) flip(w http.ResponseWriter, r *http.Request) {
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	byID := map[string][]byte{}
	h.mu.Lock()
	for sub, id := range h.subs {
		m, ok := byID[id]
		if !ok {
			m = fmt.Appendf(nil, `{"id":%q,"type":"next","payload":{"data":{"modeChanged":{"ts":%q}}}}`, id, ts)
			byID[id] = m
		}
		select {
		case sub <- m:
		default: // a subscriber that far behind is dropped by real servers too
		}
	}
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	listen := flag.String("http", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	h := &hub{subs: map[chan []byte]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /graphql", h.serveWS)
	mux.HandleFunc("POST /flip", h.flip)
	fmt.Printf("ready http=%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return context.Background() }}
	log.Fatal(srv.Serve(ln))
}
