package resolvers_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// composeDir holds the npm project (package.json and its lockfile) with
// @apollo/composition; `npm ci` there installs node_modules.
const composeDir = "testdata/compose"

// TestFederation_Composes composes our _service SDL with a second subgraph
// that extends Asset, with Apollo's own composition library.
func TestFederation_Composes(t *testing.T) {
	node := testenv.Node(t, composeDir, "@apollo/composition")
	e := newEnv(t, testmodel.Demo(t))
	var svc struct {
		Service struct{ SDL string } `json:"_service"`
	}
	e.post(t, `{ _service { sdl } }`, &svc)
	ours := filepath.Join(t.TempDir(), "twingraph.graphql")
	if err := os.WriteFile(ours, []byte(svc.Service.SDL), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "compose.js", "twingraph="+ours, "maintenance=maintenance.graphql")
	cmd.Dir = composeDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("composition failed: %v\n%s", err, stderr.String())
	}
	super := string(out)
	for _, want := range []string{"openWorkOrders", "shiftReport", "join__type(graph: TWINGRAPH, key: \"id\")", "join__type(graph: MAINTENANCE, key: \"id\")"} {
		if !strings.Contains(super, want) {
			t.Errorf("supergraph lacks %q", want)
		}
	}
}
