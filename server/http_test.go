package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

// running is a server started with Run in the background.
type running struct {
	addr string
	log  *memAudit
	stop func() error // cancels and waits for Run to return
}

func startRun(t *testing.T, o testOpts, ln net.Listener, stdin io.Reader, stdout io.Writer) *running {
	t.Helper()
	log := newMemAudit()
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	f := o.factory
	if f == nil {
		f = fakeFactory
	}
	go func() {
		done <- Run(ctx, Config{Settings: testSettings(t, o), Engines: f, Guard: noGuard{}, Audit: log, Policy: o.policy,
			Version: "test", Listener: ln, Stdin: stdin, Stdout: stdout, Ready: func(a string) { ready <- a }})
	}()
	r := &running{log: log}
	select {
	case r.addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server not ready")
	}
	stopped := false
	r.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			return errors.New("Run did not return after cancellation")
		}
	}
	t.Cleanup(func() { r.stop() })
	return r
}

func startHTTP(t *testing.T, o testOpts) *running {
	t.Helper()
	o.transport = "http"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startRun(t, o, ln, nil, nil)
}

func httpClient(t *testing.T, url string, headers map[string]string) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(url, transport.WithHTTPHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "http-agent", Version: "9"}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHTTPEnforcesModesLikeStdio(t *testing.T) {
	r := startHTTP(t, testOpts{sandboxOnly: true, productionURL: "sc://prod.example.com/"})
	c := httpClient(t, "http://"+r.addr+Endpoint, nil)
	if got := listTools(t, c); !slices.Equal(got, sandboxTools) {
		t.Errorf("tools/list = %v", got)
	}
	if _, err := callTool(c, "promote", `{}`); err == nil || !strings.Contains(err.Error(), "sandbox-only") {
		t.Errorf("promote over HTTP: %v", err)
	}
	if res, err := callTool(c, "list_pipelines", `{}`); err != nil || res.IsError {
		t.Errorf("list_pipelines over HTTP: %v %v", err, res)
	}
	recs := r.log.all()
	if len(recs) != 3 || recs[0].Decision != audit.Denied || recs[0].Transport != "http" || recs[2].Decision != audit.OK {
		t.Errorf("audit = %+v", recs)
	}
	if recs[2].Client == nil || recs[2].Client.Name != "http-agent" {
		t.Errorf("client info = %+v", recs[2].Client)
	}
	if err := r.stop(); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

func TestHTTPReadOnly(t *testing.T) {
	r := startHTTP(t, testOpts{readOnly: true})
	c := httpClient(t, "http://"+r.addr+Endpoint, nil)
	if got := listTools(t, c); !slices.Equal(got, readOnlyTools) {
		t.Errorf("tools/list = %v", got)
	}
	if _, err := callTool(c, "declare_table", `{"pipeline":"p","name":"x","kind":"materialized_view","query":"SELECT 1"}`); err == nil {
		t.Error("declare_table served in read-only mode")
	}
}

// post sends one JSON-RPC request to the endpoint.
func post(t *testing.T, url string, body []byte, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

var initBody = []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`)

func TestHTTPSecurity(t *testing.T) {
	r := startHTTP(t, testOpts{maxBody: 4096, allowedOrigins: []string{"https://app.example.com"}})
	url := "http://" + r.addr + Endpoint
	_, port, _ := net.SplitHostPort(r.addr)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		body    []byte
		want    int
	}{
		{"plain loopback call", nil, initBody, http.StatusOK},
		{"localhost Host", map[string]string{"Host": "localhost:" + port}, initBody, http.StatusOK},
		{"rebinding Host", map[string]string{"Host": "evil.example.com:" + port}, initBody, http.StatusForbidden},
		{"rebinding Host without port", map[string]string{"Host": "evil.example.com"}, initBody, http.StatusForbidden},
		{"foreign Origin", map[string]string{"Origin": "https://evil.example.com"}, initBody, http.StatusForbidden},
		{"null Origin", map[string]string{"Origin": "null"}, initBody, http.StatusForbidden},
		{"loopback Origin", map[string]string{"Origin": "http://localhost:6274"}, initBody, http.StatusOK},
		{"allowed Origin", map[string]string{"Origin": "https://app.example.com"}, initBody, http.StatusOK},
		{"body over the cap", nil, append(append([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`),
			bytes.Repeat([]byte("x"), 5000)...), `"}}`...), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, url, tc.body, tc.headers)
			if code != tc.want {
				t.Errorf("status %d, want %d (%s)", code, tc.want, body)
			}
		})
	}
}

func TestHTTPBodyCapWithoutContentLength(t *testing.T) {
	r := startHTTP(t, testOpts{maxBody: 4096})
	big := io.MultiReader(strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`),
		strings.NewReader(strings.Repeat("x", 10000)), strings.NewReader(`"}}`))
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.addr+Endpoint, big)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("the request had a Content-Length (%d); this test needs a chunked body", req.ContentLength)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

func TestHTTPBearerToken(t *testing.T) {
	r := startHTTP(t, testOpts{httpToken: testToken})
	url := "http://" + r.addr + Endpoint
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Basic " + testToken, http.StatusUnauthorized},
		{"Bearer " + testToken, http.StatusOK},
		{"bearer " + testToken, http.StatusOK},
	} {
		h := map[string]string{}
		if tc.auth != "" {
			h["Authorization"] = tc.auth
		}
		if code, body := post(t, url, initBody, h); code != tc.want {
			t.Errorf("Authorization %q: status %d, want %d (%s)", tc.auth, code, tc.want, body)
		}
	}
	c := httpClient(t, url, map[string]string{"Authorization": "Bearer " + testToken})
	if got := listTools(t, c); len(got) == 0 {
		t.Error("no tools with a valid token")
	}
}

func TestHTTPRefusesNonLoopbackWithoutToken(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skipf("cannot listen on all interfaces here: %v", err)
	}
	st := testSettings(t, testOpts{transport: "http"})
	err = Run(context.Background(), Config{Settings: st, Engines: fakeFactory, Guard: noGuard{}, Audit: newMemAudit(), Listener: ln})
	if err == nil || !strings.Contains(err.Error(), "without authentication") {
		t.Fatalf("Run = %v", err)
	}
	// And with a token it serves.
	ln, err = net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	r := startRun(t, testOpts{transport: "http", httpToken: testToken}, ln, nil, nil)
	_, port, _ := net.SplitHostPort(r.addr)
	code, body := post(t, "http://127.0.0.1:"+port+Endpoint, initBody, map[string]string{"Authorization": "Bearer " + testToken})
	if code != http.StatusOK {
		t.Errorf("status %d: %s", code, body)
	}
}

func TestStdioServesAndShutsDown(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	r := startRun(t, testOpts{readOnly: true}, nil, inR, outW)
	if r.addr != "stdio" {
		t.Fatalf("addr = %q", r.addr)
	}
	c := client.NewClient(transport.NewIO(outR, inW, io.NopCloser(strings.NewReader(""))))
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "stdio-agent", Version: "1"}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	if got := listTools(t, c); !slices.Equal(got, readOnlyTools) {
		t.Errorf("tools/list = %v", got)
	}
	res, err := callTool(c, "list_sources", `{}`)
	if err != nil || res.IsError {
		t.Fatalf("list_sources: %v %v", err, res)
	}
	var out map[string]any
	data, _ := json.Marshal(res.StructuredContent)
	json.Unmarshal(data, &out)
	if len(out["sources"].([]any)) != 1 {
		t.Errorf("sources = %v", out)
	}
	if err := r.stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	c.Close()
	recs := r.log.all()
	if len(recs) != 2 || recs[1].Client == nil || recs[1].Client.Name != "stdio-agent" {
		t.Errorf("audit = %+v", recs)
	}
}
