//go:build integration

package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// TestConsoleInBrowser drives the web console of the real binary in a real
// headless Chromium: sign-in, every page without a console error, the
// audit filter, and a cross-site POST refused. The data on the pages comes
// from an agent's real calls (declare, validate, run) against the sandbox.
func TestConsoleInBrowser(t *testing.T) {
	begin := time.Now()
	ctx := sparktest.Context(t, 10*time.Minute)
	shared := sparktest.Sandbox(t)

	env := newSchemas(t, ctx, "ui")

	dir := t.TempDir()
	token := randomHex(t, 32)
	cfg := writeFile(t, dir, "sdp-mcp.yaml", fmt.Sprintf(`workspace: %s
http:
  token_env: CONSOLE_HTTP_TOKEN
environments:
  sandbox:
    url: sc://127.0.0.1:%d/
    token_env: CONSOLE_SANDBOX_TOKEN
    catalog: spark_catalog
    schema: %s
    storage: file://%s
policy: policy.yaml
`, filepath.Join(dir, "ws"), shared.Port, env.dev, filepath.Join(dir, "storage")))
	writeFile(t, dir, "policy.yaml", fmt.Sprintf(`version: 1
environments:
  sandbox:
    sources: [spark_catalog.%s.*]
    target: spark_catalog.%s
`, env.src, env.dev))
	srv := startServer(t, cfg, "CONSOLE_HTTP_TOKEN="+token, "CONSOLE_SANDBOX_TOKEN="+shared.Token)

	// An agent's session: two datasets, one rejected call, validate, run.
	a := newAgent(t, ctx, srv.base+"/mcp", token)
	env.declareAndValidate(ctx, a)
	if r := a.mustCall(ctx, "run", map[string]any{"pipeline": "sales"}); r["ok"] != true {
		t.Fatalf("run: %v", r)
	}
	seeded := time.Now()

	shots := screenshotDir(t)
	b := newBrowser(t, shots)
	noErrors := func(page string) {
		t.Helper()
		if errs := b.consoleErrors(); len(errs) > 0 {
			t.Errorf("%s: console errors:\n  %s", page, strings.Join(errs, "\n  "))
		}
	}

	// Sign in: any page sends a stranger to the sign-in form first.
	b.do("open the console", chromedp.Navigate(srv.base+"/ui/history"), chromedp.WaitVisible(chromedp.ID("token")))
	b.waitLocation("/ui/login?next=")
	b.screenshot("login")
	noErrors("login")
	b.do("sign in", chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("signin")))
	b.waitLocation("/ui/history")
	if got := eval[string](b, `document.getElementById("principal").textContent`); got != "http" {
		t.Errorf("signed in as %q", got)
	}
	if cookies := eval[string](b, `document.cookie`); cookies != "" {
		t.Errorf("the session cookie is readable by scripts: %q", cookies)
	}

	// Every page loads without a console error and shows the agent's work.
	for _, pg := range []struct {
		path, name, ready string
		want              []string
	}{
		{"/ui/", "pipelines", "#pipelines", []string{"sales", "ok"}},
		{"/ui/pipelines/sales", "pipeline", "#graph", []string{"orders_clean", "customer_totals", "positive_amount",
			"spark_catalog." + env.src + ".orders", "transformations/orders_clean.sql", "Spend per customer"}},
		{"/ui/history", "history", "#chart", []string{"validation", "run", "completed", "3 / 1"}},
		{"/ui/audit", "audit", "#audit", []string{"declare_table", "rejected", "validate", "Chain verification: intact"}},
		{"/ui/approvals", "approvals", "main", nil},
	} {
		b.do("open "+pg.path, chromedp.Navigate(srv.base+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
		// Open the generated files so the screenshot shows them.
		if pg.name == "pipeline" {
			_ = eval[bool](b, `document.querySelectorAll("details.file").forEach(d => d.open = true), true`)
			cols := eval[[]string](b, `Array.from(document.querySelectorAll("#dataset-customer_totals .columns td:first-child")).map(td => td.textContent)`)
			if strings.Join(cols, ",") != "customer,total" {
				t.Errorf("customer_totals columns = %v", cols)
			}
			if n := eval[int](b, `document.querySelectorAll("#graph .node").length`); n != 3 {
				t.Errorf("graph nodes = %d, want 3 (a source and two datasets)", n)
			}
		}
		text := eval[string](b, `document.body.innerText`)
		for _, w := range pg.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s does not show %q", pg.path, w)
			}
		}
		b.screenshot(pg.name)
		noErrors(pg.path)
	}

	// The audit filter: only the rejected declare_table call.
	b.do("filter the audit log", chromedp.Navigate(srv.base+"/ui/audit"), chromedp.WaitVisible(chromedp.ID("f-tool")),
		chromedp.SetValue(chromedp.ID("f-tool"), "declare_table"), chromedp.SetValue(chromedp.ID("f-decision"), "rejected"),
		chromedp.Click(chromedp.ID("f-apply")))
	b.waitLocation("decision=rejected")
	b.do("wait for the filtered page", chromedp.WaitVisible(chromedp.ID("audit")))
	rows := eval[[]string](b, `Array.from(document.querySelectorAll("#audit tbody tr")).map(tr => tr.querySelector(".tool").textContent + "/" + tr.querySelector(".decision").textContent)`)
	if len(rows) != 1 || rows[0] != "declare_table/rejected" {
		t.Errorf("filtered audit rows = %v, want one rejected declare_table", rows)
	}
	b.screenshot("audit-filtered")
	noErrors("/ui/audit filtered")

	// A cross-site page posts a form to the console without the CSRF
	// token: refused, the session survives, and the refusal is audited.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!DOCTYPE html><title>elsewhere</title><form method="post" action="%s/ui/logout"><button id="go">win a prize</button></form>`, srv.base)
	}))
	defer evil.Close()
	b.do("cross-site POST", chromedp.Navigate(evil.URL), chromedp.Click(chromedp.ID("go")))
	b.waitLocation(srv.base + "/ui/logout")
	b.do("refusal page", chromedp.WaitVisible(chromedp.ID("error")))
	if msg := eval[string](b, `document.getElementById("error").textContent`); !strings.Contains(msg, "refused") {
		t.Errorf("cross-site POST answered %q", msg)
	}
	b.screenshot("cross-site-refused")
	b.consoleErrors() // the 403 itself is reported as a failed resource load
	b.do("still signed in", chromedp.Navigate(srv.base+"/ui/audit?decision=denied"), chromedp.WaitVisible(chromedp.ID("audit")))
	if text := eval[string](b, `document.getElementById("audit").innerText`); !strings.Contains(text, "console.logout") || !strings.Contains(text, "console.origin") {
		t.Errorf("the refused cross-site POST is not in the audit log:\n%s", text)
	}
	noErrors("/ui/audit after the cross-site POST")

	t.Logf("browser part: %s; whole test: %s; screenshots in %s",
		time.Since(seeded).Round(time.Millisecond), time.Since(begin).Round(time.Millisecond), shots)
}
