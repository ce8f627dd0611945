package toolcall

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

type echoIn struct {
	Name  string `json:"name" desc:"A name." schema:"pattern=word"`
	Count int    `json:"count,omitempty" schema:"min=1;max={count_max}"`
}

type echoOut struct {
	Names []string `json:"names"`
}

// echo builds a tool whose handler is fn, on a vocabulary with one limit
// and one named pattern.
func echo(t *testing.T, timeout time.Duration, fn func(ctx context.Context, c *Call, in echoIn) (*echoOut, error)) func(string, *Outcome) (*mcp.CallToolResult, error) {
	t.Helper()
	st, err := Define(Meta{Name: "echo", Title: "Echo", Timeout: timeout, TimeoutHint: "ask for less",
		Vocabulary: Vocabulary{
			Limits:   map[string]int{"count_max": 3},
			Patterns: map[string]Pattern{"word": {Regexp: `^[a-z]+$`, Fix: func(got string) string { return "use lower-case letters, not " + got }}},
		}}, fn)
	if err != nil {
		t.Fatal(err)
	}
	return func(args string, o *Outcome) (*mcp.CallToolResult, error) {
		var req mcp.CallToolRequest
		req.Params.Name = "echo"
		req.Params.Arguments = json.RawMessage(args)
		return st.Handler(WithOutcome(context.Background(), o), req)
	}
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func TestDefineReportsEveryArgumentProblemAtOnce(t *testing.T) {
	ran := false
	call := echo(t, time.Second, func(context.Context, *Call, echoIn) (*echoOut, error) { ran = true; return &echoOut{}, nil })
	o := &Outcome{Allow: func(context.Context) error { t.Error("allowed a call with bad arguments"); return nil }}
	res, err := call(`{"name": "Bad Name", "count": 9}`, o)
	if err != nil || !res.IsError || ran {
		t.Fatalf("res %+v err %v ran %v", res, err, ran)
	}
	got := text(res)
	for _, want := range []string{"2 problems to fix", "use lower-case letters, not Bad Name", "use a value from 1 to 3"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if o.Decision != audit.Rejected || !slices.Equal(o.Rules, []string{"argument.count", "argument.name"}) {
		t.Errorf("outcome %+v", o)
	}
}

func TestDefineSortsHandlerErrors(t *testing.T) {
	question := mcp.NewToolResultText("may I?")
	for _, tc := range []struct {
		err      error
		decision audit.Decision
		infra    bool
		want     string
	}{
		{pipeline.Problems{{On: "dataset", Name: "a", Field: "query", Message: "bad"}}, audit.Rejected, false, "echo was refused and changed nothing: 1 problem"},
		{&ToolError{Decision: audit.Denied, Rule: "r.x", Msg: "no"}, audit.Denied, false, "no"},
		{&AnswerError{Result: question, Decision: audit.Denied, Summary: "asking"}, audit.Denied, false, "may I?"},
		{context.DeadlineExceeded, audit.Failed, false, "echo did not finish within 1ms and was stopped; ask for less"},
		{errors.New("/secret/path: disk full"), "", true, ""},
	} {
		call := echo(t, time.Millisecond, func(ctx context.Context, c *Call, in echoIn) (*echoOut, error) {
			c.Rules = append(c.Rules, "seen")
			if errors.Is(tc.err, context.DeadlineExceeded) {
				<-ctx.Done()
			}
			return nil, tc.err
		})
		o := &Outcome{}
		res, err := call(`{"name": "ok"}`, o)
		if tc.infra {
			var ie *InfraError
			if !errors.As(err, &ie) || strings.Contains(ie.Error(), "secret") || !errors.Is(err, tc.err) {
				t.Errorf("%v: err %v", tc.err, err)
			}
			continue
		}
		if err != nil || !strings.Contains(text(res), tc.want) || o.Decision != tc.decision || !slices.Contains(o.Rules, "seen") {
			t.Errorf("%v: res %q err %v outcome %+v", tc.err, text(res), err, o)
		}
	}
}

func TestDefineReturnsCheckedStructuredContent(t *testing.T) {
	call := echo(t, time.Second, func(_ context.Context, c *Call, in echoIn) (*echoOut, error) {
		c.Summary, c.Warnings = "echoed", []string{"careful"}
		return &echoOut{Names: []string{in.Name}}, nil
	})
	o := &Outcome{}
	res, err := call(`{"name": "ok"}`, o)
	if err != nil || res.IsError || text(res) != "{\"names\":[\"ok\"]}\ncareful" || o.Decision != audit.OK || o.Summary != "echoed" {
		t.Fatalf("res %q err %v outcome %+v", text(res), err, o)
	}
	// A nil slice breaks the output schema: a server bug, not the agent's.
	call = echo(t, time.Second, func(context.Context, *Call, echoIn) (*echoOut, error) { return &echoOut{}, nil })
	var ie *InfraError
	if _, err := call(`{"name": "ok"}`, &Outcome{}); !errors.As(err, &ie) {
		t.Fatalf("err %v", err)
	}
}
