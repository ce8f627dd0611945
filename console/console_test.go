package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

const testToken = "s3cret-token"

type memAudit struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (m *memAudit) Write(r audit.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
	return nil
}

func (m *memAudit) find(tool string, d audit.Decision) *audit.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.recs {
		if m.recs[i].Event == tool && m.recs[i].Decision == d {
			return &m.recs[i]
		}
	}
	return nil
}

type fakeApprovals struct {
	mu      sync.Mutex
	pending []Approval
	decided map[string]bool
}

func (f *fakeApprovals) Pending(context.Context) ([]Approval, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Approval(nil), f.pending...), nil
}

func (f *fakeApprovals) Decide(_ context.Context, id string, approve bool, _, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, a := range f.pending {
		if a.ID == id {
			f.pending = append(f.pending[:i], f.pending[i+1:]...)
			f.decided[id] = approve
			return nil
		}
	}
	return ErrNoApproval
}

// fixture is a workspace with one validated and run pipeline, an audit
// log, and a console serving them.
type fixture struct {
	srv       *httptest.Server
	audit     *memAudit
	approvals *fakeApprovals
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ws := t.TempDir()
	dir := filepath.Join(ws, "pipelines", "sales")
	p := &pipeline.Pipeline{Name: "sales", Storage: "file:///tmp/x"}
	for _, d := range []pipeline.Dataset{
		{Name: "orders_clean", Kind: pipeline.MaterializedView, Query: "SELECT id, amount FROM raw.orders",
			Expectations: []pipeline.Expectation{{Name: "positive", Condition: "amount > 0", OnViolation: pipeline.Drop}}},
		{Name: "totals", Kind: pipeline.MaterializedView, Query: "SELECT sum(amount) AS total FROM orders_clean"},
	} {
		if _, err := p.PutDataset(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rows := int64(3)
	for _, e := range []pipeline.HistoryEntry{
		{Kind: pipeline.HistoryValidation, Record: pipeline.Record{PipelineHash: "abc", StartedAt: t0, FinishedAt: t0.Add(900 * time.Millisecond), OK: true},
			Columns: []pipeline.DatasetColumns{{Name: "orders_clean", Columns: []pipeline.ColumnInfo{{Name: "id", Type: "bigint"}, {Name: "amount", Type: "bigint", Nullable: true}}}}},
		{Kind: pipeline.HistoryRun, Record: pipeline.Record{PipelineHash: "abc", StartedAt: t0.Add(time.Minute), FinishedAt: t0.Add(time.Minute + 4*time.Second), OK: true,
			Datasets: []pipeline.Outcome{{Name: "orders_clean", Status: "completed", Rows: &rows,
				Expectations: []pipeline.ExpectationCount{{Name: "positive", Passed: 3, Failed: 1}}}}}},
	} {
		if err := pipeline.AppendHistory(dir, e); err != nil {
			t.Fatal(err)
		}
	}
	auditPath := filepath.Join(ws, "audit.jsonl")
	var lines []string
	for _, r := range []map[string]any{
		{"time": t0, "tool": "validate", "decision": "ok", "principal": "alice", "conversation": "c1"},
		{"time": t0, "tool": "run", "decision": "failed", "principal": map[string]any{"name": "bob"}, "conversation_id": "c2"},
		{"time": t0, "tool": "preview", "decision": "denied", "principal": "alice", "conversation": "c1"},
	} {
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(auditPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fixture{audit: &memAudit{}, approvals: &fakeApprovals{decided: map[string]bool{},
		pending: []Approval{{ID: "ap1", Pipeline: "sales", PipelineHash: "abc", RequestedBy: "agent", RequestedAt: t0, Summary: "orders_clean: new"}}}}
	c, err := New(Deps{PipelinesDir: filepath.Join(ws, "pipelines"), AuditPath: auditPath,
		Authenticate:       func(_ context.Context, cred string) (string, bool) { return "operator", cred == testToken },
		CredentialRequired: true, Audit: f.audit, Approvals: f.approvals})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(c)
	t.Cleanup(f.srv.Close)
	return f
}

// client signs in and returns a client holding the session cookie.
func (f *fixture) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	resp := f.post(t, cl, "/ui/login", url.Values{"token": {testToken}, "next": {"/ui/audit"}}, f.srv.URL)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/audit" {
		t.Fatalf("sign-in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return cl
}

func (f *fixture) post(t *testing.T, cl *http.Client, path string, form url.Values, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, cl *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestPagesNeedASession(t *testing.T) {
	f := newFixture(t)
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(f.srv.URL + "/ui/audit?tool=run")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/login?next=%2Fui%2Faudit") {
		t.Fatalf("unauthenticated page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	jar, _ := cookiejar.New(nil)
	bad := f.post(t, &http.Client{Jar: jar}, "/ui/login", url.Values{"token": {"wrong"}}, f.srv.URL)
	if bad.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", bad.StatusCode)
	}
	if f.audit.find("console.login", audit.Denied) == nil {
		t.Error("a wrong sign-in was not audited")
	}
	cross := f.post(t, &http.Client{Jar: jar}, "/ui/login", url.Values{"token": {testToken}}, "http://evil.example")
	if cross.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site sign-in: %d", cross.StatusCode)
	}
}

func TestPagesRender(t *testing.T) {
	f := newFixture(t)
	cl := f.client(t)
	for path, want := range map[string][]string{
		"/ui/":                {`href="/ui/pipelines/sales"`, "never"},
		"/ui/pipelines/sales": {`id="graph"`, "raw.orders", "orders_clean", "<td>amount</td>", "spark-pipeline.yml", "transformations/totals.sql", `id="chart"`},
		"/ui/history":         {`id="chart"`, "3 / <span class=\"bad\">1</span>", "completed"},
		"/ui/audit":           {"3 of 3 records", "bob", "not available"},
		"/ui/audit?tool=run":  {"1 of 3 records", "bob"},
		"/ui/audit?principal=alice&decision=denied": {"1 of 3 records", "preview"},
		"/ui/approvals": {`id="approval-ap1"`, "Approve"},
	} {
		code, body := get(t, cl, f.srv.URL+path)
		if code != http.StatusOK {
			t.Errorf("%s: %d\n%s", path, code, body)
			continue
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
	if code, _ := get(t, cl, f.srv.URL+"/ui/pipelines/nope"); code != http.StatusNotFound {
		t.Errorf("unknown pipeline: %d", code)
	}
}

func TestApproveNeedsCSRFAndOrigin(t *testing.T) {
	f := newFixture(t)
	cl := f.client(t)
	_, body := get(t, cl, f.srv.URL+"/ui/approvals")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the approvals page")
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{}, f.srv.URL},
		{"wrong token", url.Values{"csrf": {"x"}}, f.srv.URL},
		{"other origin", url.Values{"csrf": {m[1]}}, "http://evil.example"},
		{"no origin", url.Values{"csrf": {m[1]}}, ""},
	} {
		if resp := f.post(t, cl, "/ui/approvals/ap1/approve", tc.form, tc.origin); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if len(f.approvals.decided) != 0 {
		t.Fatal("a refused request decided an approval")
	}
	if f.audit.find("console.approve", audit.Denied) == nil {
		t.Error("refusals were not audited")
	}
	resp := f.post(t, cl, "/ui/approvals/ap1/approve", url.Values{"csrf": {m[1]}, "note": {"looks fine"}}, f.srv.URL)
	if resp.StatusCode != http.StatusOK || !f.approvals.decided["ap1"] {
		t.Fatalf("approve: %d, decided %v", resp.StatusCode, f.approvals.decided)
	}
	if r := f.audit.find("console.approve", audit.OK); r == nil || !strings.Contains(r.Summary, "approved by operator") {
		t.Errorf("the approval was not audited: %+v", r)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/ui/audit?x=1": "/ui/audit?x=1", "//evil.example": "/ui/", "https://evil.example/ui/": "/ui/", "/ui": "/ui", "/uix": "/ui/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
