package hierarchy

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DTDLSource is one file of a DTDL model set.
type DTDLSource struct {
	// Name is the file's path as reported in problems.
	Name string
	// Data is the file's content.
	Data []byte
}

// DTDLOptions tunes ImportDTDLSet.
type DTDLOptions struct {
	// Contains names relationships that mean containment, source being the
	// parent, beside the defaults (contains, hasPart, hasChild, includes,
	// isParentOf; and isPartOf, isContainedIn, isChildOf, childOf, locatedIn
	// pointing from child to parent).
	Contains []string
	// Live names Properties (by DTDL name, or "component.name") that become
	// signals rather than nameplate attributes, beside those co-typed
	// Historized.
	Live []string
}

// ReadDTDLSources reads files and, recursively, the *.json, *.ndjson and
// *.jsonl files of directories, in lexical order.
func ReadDTDLSources(paths []string) ([]DTDLSource, error) {
	var out []DTDLSource
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			out = append(out, DTDLSource{Name: p, Data: data})
			continue
		}
		n := len(out)
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir // .git and friends
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".json", ".ndjson", ".jsonl":
			default:
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out = append(out, DTDLSource{Name: path, Data: data})
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no .json, .ndjson or .jsonl files", p)
		}
	}
	return out, nil
}

// ImportDTDLFiles reads paths with ReadDTDLSources and imports them as one set.
func ImportDTDLFiles(paths []string, opts DTDLOptions) ([]byte, error) {
	srcs, err := ReadDTDLSources(paths)
	if err != nil {
		return nil, err
	}
	return importSet(srcs, opts, strings.Join(paths, ", "))
}

// ImportDTDLSet converts a DTDL model set, and any twins and relationships in
// it, into model YAML that Load accepts. See ImportDTDL for what maps to
// what. A set that is not valid returns a *LoadError listing every problem as
// FILE:LINE: dtmi…: what is wrong.
func ImportDTDLSet(srcs []DTDLSource, opts DTDLOptions) ([]byte, error) {
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name
	}
	return importSet(srcs, opts, strings.Join(names, ", "))
}

func importSet(srcs []DTDLSource, opts DTDLOptions, what string) ([]byte, error) {
	im := newImporter(opts)
	for _, s := range srcs {
		im.readSource(s)
	}
	im.resolve()
	var out []byte
	if len(im.probs) == 0 {
		out = im.emit(what)
	}
	if len(im.probs) > 0 {
		sort.SliceStable(im.probs, func(i, j int) bool {
			a, b := im.probs[i], im.probs[j]
			if a.File != b.File {
				return a.File < b.File
			}
			return a.Line < b.Line
		})
		return nil, &LoadError{Problems: im.probs}
	}
	return out, nil
}

var bom = []byte("\xEF\xBB\xBF")

// readSource sorts a file by shape: an array of Interfaces, one Interface, an
// Azure Digital Twins Explorer export, or an import-job NDJSON file.
func (im *importer) readSource(s DTDLSource) {
	data := bytes.TrimPrefix(s.Data, bom)
	trimmed := bytes.TrimSpace(data)
	first := 1 + bytes.Count(data[:len(data)-len(bytes.TrimLeft(data, " \t\r\n"))], []byte("\n"))
	if len(trimmed) == 0 || (trimmed[0] != '[' && trimmed[0] != '{') {
		im.errf(s.Name, first, "", "not a DTDL document: want a JSON array of Interfaces, one Interface, a Digital Twins Explorer export or an import (NDJSON) file")
		return
	}
	if trimmed[0] == '{' {
		line, _, _ := bytes.Cut(trimmed, []byte("\n"))
		if n, err := parseJSON(line, first); err == nil && n.get("Section") != nil {
			im.readNDJSON(s.Name, data)
			return
		}
	}
	root, err := parseJSON(data, 1)
	if err != nil {
		line := first
		if je, ok := err.(*jsonError); ok {
			line = je.line
		}
		im.errf(s.Name, line, "", "not a DTDL document: %v", err)
		return
	}
	switch {
	case root.kind == jArray:
		for _, it := range root.items {
			im.addInterface(s.Name, it, nil)
		}
	case root.get("digitalTwinsModels") != nil || root.get("digitalTwinsGraph") != nil:
		im.readExport(s.Name, root)
	default:
		im.addInterface(s.Name, root, nil)
	}
}

// readExport reads what Azure Digital Twins Explorer exports.
func (im *importer) readExport(file string, root *jnode) {
	if ms := root.get("digitalTwinsModels"); ms != nil {
		if ms.kind != jArray {
			im.errf(file, ms.line, "", "digitalTwinsModels must be an array of Interfaces")
		} else {
			for _, it := range ms.items {
				im.addInterface(file, it, nil)
			}
		}
	}
	g := root.get("digitalTwinsGraph")
	if g == nil {
		return
	}
	if tw := g.get("digitalTwins"); tw != nil {
		if tw.kind != jArray {
			im.errf(file, tw.line, "", "digitalTwins must be an array")
		} else {
			for _, t := range tw.items {
				im.addTwin(file, t)
			}
		}
	}
	if rs := g.get("relationships"); rs != nil {
		if rs.kind != jArray {
			im.errf(file, rs.line, "", "relationships must be an array")
		} else {
			for _, r := range rs.items {
				im.addRelationship(file, r)
			}
		}
	}
}

// readNDJSON reads the Azure Digital Twins import-job format: one JSON object
// a line, in sections introduced by {"Section": "Header|Models|Twins|Relationships"}.
func (im *importer) readNDJSON(file string, data []byte) {
	section := ""
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n, err := parseJSON(line, i+1)
		if err != nil {
			im.errf(file, i+1, "", "%v", err)
			continue
		}
		if s := n.get("Section"); s != nil && len(n.keys) == 1 {
			switch s.str {
			case "Header", "Models", "Twins", "Relationships":
				section = s.str
			default:
				im.errf(file, i+1, "", "unknown section %q: want Header, Models, Twins or Relationships", s.str)
				section = "?"
			}
			continue
		}
		switch section {
		case "":
			im.errf(file, i+1, "", "line before the first {\"Section\": ...}")
		case "Models":
			im.addInterface(file, n, nil)
		case "Twins":
			im.addTwin(file, n)
		case "Relationships":
			im.addRelationship(file, n)
		}
	}
}
