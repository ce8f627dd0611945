package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/config"
)

func TestPrincipalsNarrowOnly(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`version: 1
environments:
  sandbox:
    sources: [spark_catalog.raw.*]
tools:
  promote: false
limits:
  calls_per_minute: 60
principals:
  ci_agent:
    tools: {run: false}
    sources:
      sandbox: [spark_catalog.raw.orders, spark_catalog.raw.orders_*]
    limits: {calls_per_minute: 10, preview_rows_max: 20}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.PrincipalToolEnabled("ci_agent", "run") || !p.PrincipalToolEnabled("other", "run") || p.PrincipalToolEnabled("ci_agent", "promote") {
		t.Error("tool switches")
	}
	if p.CallsPerMinute("ci_agent") != 10 || p.CallsPerMinute("other") != 60 {
		t.Error("calls per minute")
	}
	if ok, _ := p.SourceAllowed("ci_agent", config.Sandbox, "SPARK_CATALOG.raw.orders_2026"); !ok {
		t.Error("orders_2026 refused")
	}
	if ok, _ := p.SourceAllowed("ci_agent", config.Sandbox, "spark_catalog.raw.customers"); ok {
		t.Error("customers allowed")
	}

	_, err = Parse("wide.yaml", []byte(`version: 1
environments:
  sandbox:
    sources: [spark_catalog.raw.orders_*]
tools:
  promote: false
limits:
  calls_per_minute: 60
principals:
  ci_agent:
    tools: {promote: true}
    sources:
      sandbox: [spark_catalog.raw.*, spark_catalog.hr.salaries, spark_catalog.raw.orders_2026]
    limits: {calls_per_minute: 100}
`))
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("a widening policy was accepted: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"principals.ci_agent.tools.promote: widens the policy: promote is switched off for everyone",
		`principals.ci_agent.sources.sandbox[0]: widens the policy: "spark_catalog.raw.*" is not within`,
		`principals.ci_agent.sources.sandbox[1]: widens the policy: "spark_catalog.hr.salaries"`,
		"principals.ci_agent.limits.calls_per_minute: widens the policy: 100 is above the global limits.calls_per_minute of 60",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "sandbox[2]") {
		t.Errorf("a narrowing glob was refused:\n%s", msg)
	}
}
