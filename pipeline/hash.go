package pipeline

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// hashFormat versions the canonical encoding; changing the encoding must
// change it, so old hashes can never match new drafts by accident.
const hashFormat = "sdp-mcp/pipeline-hash/v1"

// canonical is the hashed form of a pipeline.
type canonical struct {
	Format        string            `json:"format"`
	Name          string            `json:"name"`
	Configuration map[string]string `json:"configuration,omitempty"`
	Datasets      []Dataset         `json:"datasets,omitempty"`
	Flows         []Flow            `json:"flows,omitempty"`
}

// Hash returns a stable SHA-256, in lower-case hex, of what the pipeline
// computes: its name, configuration, datasets and flows, in a canonical
// encoding (JSON with fixed field order, map keys sorted, datasets and flows
// sorted by name, empty lists and maps omitted).
//
// Catalog, Database and Storage are left out on purpose: they bind the
// pipeline to an environment, and the generated SQL does not depend on them.
// The hash a validation records in the sandbox therefore identifies exactly
// the draft that promotion runs against the production environment.
func (p *Pipeline) Hash() (string, error) {
	c := canonical{Format: hashFormat, Name: p.Name, Configuration: p.Configuration}
	for _, d := range p.Datasets {
		c.Datasets = append(c.Datasets, normalizeDataset(d))
	}
	for _, f := range p.Flows {
		c.Flows = append(c.Flows, f)
	}
	if len(c.Configuration) == 0 {
		c.Configuration = nil
	}
	slices.SortFunc(c.Datasets, func(a, b Dataset) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(c.Flows, func(a, b Flow) int { return cmp.Compare(a.Name, b.Name) })
	data, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("hashing pipeline %s: %w", p.Name, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
