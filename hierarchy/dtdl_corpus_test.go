package hierarchy_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/hierarchy"
)

// corpusRule groups corpus cases by the rule their name starts with
// (dtmi-no-scheme → dtmi), for pass rates per rule.
func corpusRule(name string) string {
	rule, _, _ := strings.Cut(strings.TrimSuffix(name, filepath.Ext(name)), "-")
	return rule
}

// TestImportDTDL_CorpusValid imports every valid case (a file or a directory
// of files, built from the DTDL language descriptions' examples) and loads
// the result as a model.
func TestImportDTDL_CorpusValid(t *testing.T) {
	entries, err := os.ReadDir("testdata/dtdl/valid")
	if err != nil {
		t.Fatal(err)
	}
	pass := map[string][2]int{}
	for _, e := range entries {
		path := filepath.Join("testdata/dtdl/valid", e.Name())
		ok := t.Run(e.Name(), func(t *testing.T) {
			out, err := hierarchy.ImportDTDLFiles([]string{path}, hierarchy.DTDLOptions{})
			if err != nil {
				t.Fatalf("valid DTDL refused:\n%v", err)
			}
			if _, err := hierarchy.Load("imported.yaml", out); err != nil {
				t.Fatalf("imported model does not load: %v\n%s", err, out)
			}
		})
		tally(pass, corpusRule(e.Name()), ok)
	}
	logRates(t, "valid", pass)
}

// TestImportDTDL_CorpusInvalid imports every invalid case and checks that
// each problem its .err file names ("LINE: text") is reported at that line
// of that file.
func TestImportDTDL_CorpusInvalid(t *testing.T) {
	cases, err := filepath.Glob("testdata/dtdl/invalid/*.json")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no invalid cases: %v", err)
	}
	pass := map[string][2]int{}
	for _, path := range cases {
		name := filepath.Base(path)
		ok := t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(path, ".json") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			_, err = hierarchy.ImportDTDLFiles([]string{path}, hierarchy.DTDLOptions{})
			var le *hierarchy.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("invalid DTDL imported (err = %v)", err)
			}
			for _, w := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				ls, text, _ := strings.Cut(w, ": ")
				line, _ := strconv.Atoi(ls)
				found := false
				for _, p := range le.Problems {
					found = found || (p.File == path && p.Line == line && strings.Contains(p.Msg, text))
				}
				if !found {
					t.Errorf("no problem %s:%d: ...%s; got:\n%v", path, line, text, err)
				}
			}
		})
		tally(pass, corpusRule(name), ok)
	}
	logRates(t, "invalid", pass)
}

func tally(m map[string][2]int, rule string, ok bool) {
	c := m[rule]
	c[1]++
	if ok {
		c[0]++
	}
	m[rule] = c
}

func logRates(t *testing.T, what string, m map[string][2]int) {
	rules := make([]string, 0, len(m))
	for r := range m {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, " %s %d/%d", r, m[r][0], m[r][1])
	}
	t.Logf("%s cases passing per rule:%s", what, b.String())
}
