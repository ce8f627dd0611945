package console

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"time"
)

const (
	// maxAuditRead is how much of the end of the audit log the page reads.
	maxAuditRead = 16 << 20
	// maxAuditRows bounds the rows shown.
	maxAuditRows = 500
)

// auditRow is one audit record as the page shows it. It is decoded
// leniently: records written before principals and conversations existed
// have neither.
type auditRow struct {
	Time         time.Time
	Principal    string
	Conversation string
	Session      string
	Tool         string
	Decision     string
	Rules        []string
	Summary      string
	DurationMS   float64
	PipelineHash string
	Environment  string
}

// rawAudit is the subset of a record the page reads. principal and
// conversation may be strings or objects naming an id.
type rawAudit struct {
	Time           time.Time       `json:"time"`
	Principal      json.RawMessage `json:"principal"`
	Conversation   json.RawMessage `json:"conversation"`
	ConversationID string          `json:"conversation_id"`
	Session        string          `json:"session_id"`
	Tool           string          `json:"tool"`
	Event          string          `json:"event"`
	Decision       string          `json:"decision"`
	Rules          []string        `json:"rules"`
	Summary        string          `json:"summary"`
	DurationMS     float64         `json:"duration_ms"`
	PipelineHash   string          `json:"pipeline_hash"`
	Environment    string          `json:"environment"`
}

// idOf reads a string, or an object's first id-like field.
func idOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	for _, k := range []string{"name", "id", "subject", "sub"} {
		if v, ok := m[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// readAudit reads the last maxAuditRead bytes of the log, oldest first.
func readAudit(path string) ([]auditRow, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-maxAuditRead, 0)
	data, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return nil, err
	}
	if off > 0 { // drop the partial first line
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	var rows []auditRow
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		var r rawAudit
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		if r.Tool == "" { // an event: its kind stands in the tool column
			r.Tool = r.Event
		}
		if r.Tool == "" {
			continue
		}
		row := auditRow{Time: r.Time, Principal: idOf(r.Principal), Conversation: idOf(r.Conversation),
			Session: r.Session, Tool: r.Tool, Decision: r.Decision, Rules: r.Rules, Summary: r.Summary,
			DurationMS: r.DurationMS, PipelineHash: r.PipelineHash, Environment: r.Environment}
		if row.Conversation == "" {
			row.Conversation = r.ConversationID
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

// auditFilter is the page's filter form.
type auditFilter struct {
	Principal, Conversation, Tool, Decision string
}

func (f auditFilter) match(r auditRow) bool {
	return (f.Principal == "" || r.Principal == f.Principal) &&
		(f.Conversation == "" || r.Conversation == f.Conversation) &&
		(f.Tool == "" || r.Tool == f.Tool) &&
		(f.Decision == "" || r.Decision == f.Decision)
}

type auditPageView struct {
	Filter        auditFilter
	Principals    []string
	Conversations []string
	Tools         []string
	Decisions     []string
	Rows          []auditRow
	Matched       int
	Total         int
	Chain         *ChainResult
	Path          string
}

func (c *Console) auditPage(r *http.Request) (string, string, any, error) {
	q := r.URL.Query()
	f := auditFilter{Principal: q.Get("principal"), Conversation: q.Get("conversation"),
		Tool: q.Get("tool"), Decision: q.Get("decision")}
	v := auditPageView{Filter: f, Path: c.d.AuditPath}
	rows, err := readAudit(c.d.AuditPath)
	if err != nil {
		return "", "", nil, err
	}
	v.Total = len(rows)
	seen := [4]map[string]bool{{}, {}, {}, {}}
	lists := [4]*[]string{&v.Principals, &v.Conversations, &v.Tools, &v.Decisions}
	for i := len(rows) - 1; i >= 0; i-- {
		row := rows[i]
		for j, val := range []string{row.Principal, row.Conversation, row.Tool, row.Decision} {
			if val != "" && !seen[j][val] {
				seen[j][val] = true
				*lists[j] = append(*lists[j], val)
			}
		}
		if f.match(row) {
			v.Matched++
			if len(v.Rows) < maxAuditRows {
				v.Rows = append(v.Rows, row)
			}
		}
	}
	for _, l := range lists {
		slices.Sort(*l)
	}
	if c.d.Chain != nil {
		res := c.d.Chain.VerifyChain(r.Context())
		v.Chain = &res
	}
	return "audit", "Audit log", v, nil
}
