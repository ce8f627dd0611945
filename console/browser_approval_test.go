//go:build integration

package console_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

var approvalIDRE = regexp.MustCompile(`Approval id: (ap_[0-9a-f]{20})`)

// TestConsoleApprovalInBrowser: an agent's promote waits for a person's
// approval; the operator grants it in the browser, and the agent's next
// promote runs in production. The agent's own token cannot approve.
func TestConsoleApprovalInBrowser(t *testing.T) {
	begin := time.Now()
	ctx := sparktest.Context(t, 10*time.Minute)
	shared := sparktest.Sandbox(t)
	env := newSchemas(t, ctx, "appr")
	prod := env.extra("prod")

	dir := t.TempDir()
	agentToken, operatorToken := randomHex(t, 32), randomHex(t, 32)
	cfg := writeFile(t, dir, "sdp-mcp.yaml", fmt.Sprintf(`workspace: %s
http:
  clients:
    - name: agent
      token_env: CONSOLE_AGENT_TOKEN
    - name: operator
      token_env: CONSOLE_OPERATOR_TOKEN
environments:
  sandbox:
    url: sc://127.0.0.1:%[2]d/
    token_env: CONSOLE_SANDBOX_TOKEN
    catalog: spark_catalog
    schema: %[3]s
    storage: file://%[4]s
  production:
    url: sc://127.0.0.1:%[2]d/
    token_env: CONSOLE_SANDBOX_TOKEN
    catalog: spark_catalog
    schema: %[5]s
    storage: file://%[6]s
promotion:
  approval: required
policy: policy.yaml
`, filepath.Join(dir, "ws"), shared.Port, env.dev, filepath.Join(dir, "storage"), prod, filepath.Join(dir, "prod-storage")))
	writeFile(t, dir, "policy.yaml", fmt.Sprintf(`version: 1
environments:
  sandbox:
    sources: [spark_catalog.%[1]s.*]
    target: spark_catalog.%[2]s
  production:
    sources: [spark_catalog.%[1]s.*]
    target: spark_catalog.%[3]s
`, env.src, env.dev, prod))
	srv := startServer(t, cfg, "CONSOLE_AGENT_TOKEN="+agentToken, "CONSOLE_OPERATOR_TOKEN="+operatorToken,
		"CONSOLE_SANDBOX_TOKEN="+shared.Token)

	a := newAgent(t, ctx, srv.base+"/mcp", agentToken)
	hash := env.declareAndValidate(ctx, a)

	// promote: refused until a person approves; the message names the id.
	out, text, isErr := a.call(ctx, "promote", map[string]any{"pipeline": "sales", "pipeline_hash": hash})
	m := approvalIDRE.FindStringSubmatch(text)
	if !isErr || m == nil {
		t.Fatalf("promote before approval: isError=%v %v\n%s", isErr, out, text)
	}
	id := m[1]
	if !strings.Contains(text, "/ui/approvals") {
		t.Errorf("the approval_required message does not point to the web console:\n%s", text)
	}

	shots := screenshotDir(t)
	b := newBrowser(t, shots)
	noErrors := func(page string) {
		t.Helper()
		if errs := b.consoleErrors(); len(errs) > 0 {
			t.Errorf("%s: console errors:\n  %s", page, strings.Join(errs, "\n  "))
		}
	}
	signIn := func(token, who string) {
		t.Helper()
		b.do("sign in as "+who, chromedp.Navigate(srv.base+"/ui/approvals"), chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("signin")))
		b.waitLocation("/ui/approvals")
		b.do("approvals page", chromedp.WaitVisible(chromedp.ID("approval-"+id)))
		if got := eval[string](b, `document.getElementById("principal").textContent`); got != who {
			t.Fatalf("signed in as %q, want %q", got, who)
		}
	}
	signOut := func() {
		t.Helper()
		b.do("sign out", chromedp.Click(chromedp.CSS(`form.who button`)))
		b.waitLocation("/ui/login")
	}

	// The agent's own token signs in, but cannot approve its own promotion.
	signIn(agentToken, "agent")
	b.do("self-approval", chromedp.Click(chromedp.CSS(`#approval-`+id+` button.approve`)))
	b.do("refusal", chromedp.WaitVisible(chromedp.ID("error")))
	if msg := eval[string](b, `document.getElementById("error").textContent`); !strings.Contains(msg, "requested by agent") {
		t.Errorf("self-approval answered %q", msg)
	}
	b.consoleErrors() // the 403 is reported as a failed resource load
	b.do("back", chromedp.Navigate(srv.base+"/ui/approvals"), chromedp.WaitVisible(chromedp.ID("approval-"+id)))
	signOut()

	// The operator approves it in the browser.
	signIn(operatorToken, "operator")
	b.screenshot("approval-pending")
	noErrors("/ui/approvals")
	b.do("approve", chromedp.SendKeys(chromedp.CSS(`#approval-`+id+` input[name=note]`), "checked the plan"),
		chromedp.Click(chromedp.CSS(`#approval-`+id+` button.approve`)))
	b.waitLocation("/ui/approvals?done=")
	b.do("flash", chromedp.WaitVisible(chromedp.ID("flash")))
	if n := eval[int](b, `document.querySelectorAll("#approvals tbody tr").length`); n != 0 {
		t.Errorf("%d approvals still pending after approving", n)
	}
	b.screenshot("approval-granted")
	noErrors("/ui/approvals after approving")

	// The agent's next promote proceeds and writes production.
	res := a.mustCall(ctx, "promote", map[string]any{"pipeline": "sales", "pipeline_hash": hash})
	if res["ok"] != true {
		t.Fatalf("promote after approval: %v", res)
	}
	rows := env.count(ctx, "SELECT count(*) FROM spark_catalog."+prod+".customer_totals")
	if rows != 2 {
		t.Errorf("production customer_totals has %d rows, want 2 (alice, carol)", rows)
	}

	// The decision is in the audit log, attributed to the operator.
	b.do("audit", chromedp.Navigate(srv.base+"/ui/audit?tool=console.approve"), chromedp.WaitVisible(chromedp.ID("audit")))
	text = eval[string](b, `document.getElementById("audit").innerText`)
	if !strings.Contains(text, "approved by operator") || !strings.Contains(text, "requested by agent") {
		t.Errorf("the console's approval records:\n%s", text)
	}
	// The principal filter: only the operator's records.
	b.do("filter by principal", chromedp.Navigate(srv.base+"/ui/audit"), chromedp.WaitVisible(chromedp.ID("f-principal")),
		chromedp.SetValue(chromedp.ID("f-principal"), "operator"), chromedp.Click(chromedp.ID("f-apply")))
	b.waitLocation("principal=operator")
	b.do("filtered", chromedp.WaitVisible(chromedp.ID("audit")))
	who := eval[[]string](b, `Array.from(document.querySelectorAll("#audit tbody tr td:nth-child(2)")).map(td => td.textContent)`)
	if len(who) == 0 || slices.ContainsFunc(who, func(w string) bool { return w != "operator" }) {
		t.Errorf("audit rows filtered by principal operator: %v", who)
	}
	noErrors("/ui/audit?principal=operator")
	b.do("promotion history", chromedp.Navigate(srv.base+"/ui/history?kind=promotion"), chromedp.WaitVisible(chromedp.ID("history")))
	b.screenshot("promotion-history")
	noErrors("/ui/history?kind=promotion")
	t.Logf("whole test: %s; screenshots in %s", time.Since(begin).Round(time.Millisecond), shots)
}
