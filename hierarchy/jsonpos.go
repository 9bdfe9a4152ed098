package hierarchy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// jnode is a JSON value with the line it starts on, so that DTDL problems can
// be reported as FILE:LINE like model problems. encoding/json gives offsets
// only through its token stream, hence this small tree.
type jnode struct {
	kind  jkind
	line  int
	str   string      // jString
	num   json.Number // jNumber
	b     bool        // jBool
	keys  []string    // jObject, in document order
	vals  map[string]*jnode
	items []*jnode // jArray
}

type jkind int

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (k jkind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

// get returns an object's member, or nil.
func (n *jnode) get(key string) *jnode {
	if n == nil || n.kind != jObject {
		return nil
	}
	return n.vals[key]
}

// strs reads a string or an array of strings (DTDL's @type, @context, extends).
func (n *jnode) strs() []string {
	switch {
	case n == nil:
		return nil
	case n.kind == jString:
		return []string{n.str}
	case n.kind == jArray:
		var out []string
		for _, it := range n.items {
			if it.kind == jString {
				out = append(out, it.str)
			}
		}
		return out
	}
	return nil
}

// plain converts the node to encoding/json's generic form (float64 numbers).
func (n *jnode) plain() any {
	switch n.kind {
	case jBool:
		return n.b
	case jNumber:
		f, _ := n.num.Float64()
		return f
	case jString:
		return n.str
	case jArray:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i] = it.plain()
		}
		return out
	case jObject:
		out := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			out[k] = n.vals[k].plain()
		}
		return out
	}
	return nil
}

// canon is a canonical text of the value (keys sorted), to tell whether two
// declarations are the same.
func (n *jnode) canon() string {
	b, _ := json.Marshal(n.plain()) // maps marshal with sorted keys
	return string(b)
}

// parseJSON reads one JSON value; firstLine is the line data starts on (for
// NDJSON). Errors carry the line they were found on.
func parseJSON(data []byte, firstLine int) (*jnode, error) {
	p := &jparser{data: data, dec: json.NewDecoder(bytes.NewReader(data)), first: firstLine}
	p.dec.UseNumber()
	for i, c := range data {
		if c == '\n' {
			p.nl = append(p.nl, i)
		}
	}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &jsonError{p.lineAt(int(p.dec.InputOffset())), "unexpected data after the JSON value"}
	}
	return n, nil
}

// jsonError is a JSON syntax problem at a line.
type jsonError struct {
	line int
	msg  string
}

func (e *jsonError) Error() string { return e.msg }

type jparser struct {
	data  []byte
	dec   *json.Decoder
	nl    []int
	first int
}

func (p *jparser) lineAt(off int) int {
	return p.first + sort.SearchInts(p.nl, off)
}

// start is the offset where the next token begins.
func (p *jparser) start() int {
	off := int(p.dec.InputOffset())
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *jparser) token() (json.Token, int, error) {
	off := p.start()
	tok, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		line := p.lineAt(off)
		if errors.As(err, &se) {
			line = p.lineAt(int(se.Offset))
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, &jsonError{line, "invalid JSON: " + err.Error()}
	}
	return tok, p.lineAt(off), nil
}

func (p *jparser) value() (*jnode, error) {
	tok, line, err := p.token()
	if err != nil {
		return nil, err
	}
	n := &jnode{line: line}
	switch t := tok.(type) {
	case nil:
	case bool:
		n.kind, n.b = jBool, t
	case json.Number:
		n.kind, n.num = jNumber, t
	case string:
		n.kind, n.str = jString, t
	case json.Delim:
		switch t {
		case '[':
			n.kind = jArray
			for p.dec.More() {
				it, err := p.value()
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, it)
			}
		case '{':
			n.kind, n.vals = jObject, map[string]*jnode{}
			for p.dec.More() {
				ktok, kline, err := p.token()
				if err != nil {
					return nil, err
				}
				key, _ := ktok.(string)
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				if _, dup := n.vals[key]; dup {
					return nil, &jsonError{kline, fmt.Sprintf("duplicate key %q", key)}
				}
				n.keys = append(n.keys, key)
				n.vals[key] = v
			}
		}
		if _, _, err := p.token(); err != nil { // the closing delimiter
			return nil, err
		}
	}
	return n, nil
}
