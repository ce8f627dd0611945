package pipeline

import (
	"bytes"
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
	// The encoding is json.Marshal of canonical; the datasets and flows
	// are its last fields, so their elements are spliced in, each encoded
	// once per declaration (a draft a Store keeps remembers them).
	head := canonical{Format: hashFormat, Name: p.Name, Configuration: p.Configuration}
	if len(head.Configuration) == 0 {
		head.Configuration = nil
	}
	data, err := json.Marshal(head)
	if err != nil {
		return "", fmt.Errorf("hashing pipeline %s: %w", p.Name, err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(data)+256*(len(p.Datasets)+len(p.Flows))))
	buf.Write(data[:len(data)-1]) // without the closing brace
	datasets := slices.Clone(p.Datasets)
	slices.SortFunc(datasets, func(a, b Dataset) int { return cmp.Compare(a.Name, b.Name) })
	for i, d := range datasets {
		if i == 0 {
			buf.WriteString(`,"datasets":[`)
		} else {
			buf.WriteByte(',')
		}
		enc, err := p.scans.datasetJSON(d)
		if err != nil {
			return "", fmt.Errorf("hashing pipeline %s: %w", p.Name, err)
		}
		buf.Write(enc)
	}
	if len(datasets) > 0 {
		buf.WriteByte(']')
	}
	flows := slices.Clone(p.Flows)
	slices.SortFunc(flows, func(a, b Flow) int { return cmp.Compare(a.Name, b.Name) })
	for i, f := range flows {
		if i == 0 {
			buf.WriteString(`,"flows":[`)
		} else {
			buf.WriteByte(',')
		}
		enc, err := json.Marshal(f)
		if err != nil {
			return "", fmt.Errorf("hashing pipeline %s: %w", p.Name, err)
		}
		buf.Write(enc)
	}
	if len(flows) > 0 {
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// datasetJSON is json.Marshal(d), remembered per declaration when m is
// not nil. (Encoding d or normalizeDataset(d) gives the same bytes: the
// fields it normalizes are omitted when empty.)
func (m *scanMemo) datasetJSON(d Dataset) ([]byte, error) {
	if m == nil {
		return json.Marshal(d)
	}
	m.mu.Lock()
	c, ok := m.encoded[d.Name]
	m.mu.Unlock()
	if ok && sameDataset(c.d, d) {
		return c.json, nil
	}
	enc, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.encoded == nil || len(m.encoded) >= m.max {
		m.encoded = map[string]encodedDataset{}
	}
	m.encoded[d.Name] = encodedDataset{d: cloneDataset(d), json: enc}
	m.mu.Unlock()
	return enc, nil
}

// encodedDataset is a declaration with its JSON encoding.
type encodedDataset struct {
	d    Dataset
	json []byte
}
