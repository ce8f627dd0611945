package policy

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"path"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/guardrails"
)

// DefaultYAML is the built-in default policy, documented key by key.
//
//go:embed default.yaml
var DefaultYAML []byte

// Version is the only policy file version understood.
const Version = 1

// Policy is a loaded, checked policy file. Build it with [Load], [Parse]
// or [Default]; it is read-only afterwards and safe for concurrent use.
type Policy struct {
	Version      int           `yaml:"version"`
	Environments Environments  `yaml:"environments"`
	Functions    Functions     `yaml:"functions"`
	Limits       config.Limits `yaml:"limits"`
	Tools        Tools         `yaml:"tools"`
	// FullRefreshProtected are pipeline.dataset globs that run and promote
	// never recompute from scratch.
	FullRefreshProtected []string `yaml:"full_refresh_protected"`
	// ProductionParity is what promote does when production's Spark minor
	// version or table format differs from the sandbox's: ParityRefuse or
	// ParityWarn.
	ProductionParity string `yaml:"production_parity"`
	Rules            []Rule `yaml:"rules"`
	// Principals narrow the policy per principal (never widen it).
	Principals map[string]Principal `yaml:"principals"`

	file      string
	sha       string
	lines     map[string]int
	rules     *RuleSet
	functions *guardrails.FunctionPolicy
}

// Environments hold what may be read and written in each environment.
type Environments struct {
	Sandbox    Environment `yaml:"sandbox"`
	Production Environment `yaml:"production"`
}

// Environment is the policy of one environment.
type Environment struct {
	// Sources are catalog.schema.table globs; '*' only in the table part.
	Sources []string `yaml:"sources"`
	// Target, when set, is the only catalog.schema datasets may be written
	// to: the server refuses to start when the configuration points the
	// environment elsewhere.
	Target string `yaml:"target"`
}

// Functions narrow the built-in functions a query may call.
type Functions struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// Tools switch tools off; nil (absent) means on.
type Tools struct {
	ListSources    *bool `yaml:"list_sources"`
	DescribeSource *bool `yaml:"describe_source"`
	ListPipelines  *bool `yaml:"list_pipelines"`
	ShowPipeline   *bool `yaml:"show_pipeline"`
	DeclareTable   *bool `yaml:"declare_table"`
	DeclareFlow    *bool `yaml:"declare_flow"`
	RemoveDataset  *bool `yaml:"remove_dataset"`
	Preview        *bool `yaml:"preview"`
	Validate       *bool `yaml:"validate"`
	Run            *bool `yaml:"run"`
	Promote        *bool `yaml:"promote"`
	PlanPromotion  *bool `yaml:"plan_promotion"`
}

// switches maps tool names to their switch.
func (t *Tools) switches() map[string]*bool {
	return map[string]*bool{
		"list_sources": t.ListSources, "describe_source": t.DescribeSource,
		"list_pipelines": t.ListPipelines, "show_pipeline": t.ShowPipeline,
		"declare_table": t.DeclareTable, "declare_flow": t.DeclareFlow,
		"remove_dataset": t.RemoveDataset, "preview": t.Preview, "validate": t.Validate,
		"run": t.Run, "promote": t.Promote, "plan_promotion": t.PlanPromotion,
	}
}

// ToolNames are the tools the policy can switch, in no particular order.
func ToolNames() []string {
	var t Tools
	names := make([]string, 0, 12)
	for n := range t.switches() {
		names = append(names, n)
	}
	return names
}

// Default returns the built-in default policy.
func Default() *Policy {
	p, err := Parse("(built-in default policy)", DefaultYAML)
	if err != nil {
		panic("policy: the built-in default policy is invalid: " + err.Error())
	}
	return p
}

// File is the file the policy was read from, or a description of the
// built-in default.
func (p *Policy) File() string { return p.file }

// SHA256 is the hex SHA-256 of the policy's bytes, recorded in every audit
// record.
func (p *Policy) SHA256() string { return p.sha }

// ToolEnabled reports whether the policy offers the named tool.
func (p *Policy) ToolEnabled(name string) bool {
	s, ok := p.Tools.switches()[name]
	return !ok || s == nil || *s
}

// FunctionPolicy is the guard's view of functions.allow and functions.deny.
func (p *Policy) FunctionPolicy() *guardrails.FunctionPolicy { return p.functions }

// RuleSet is the compiled rules.
func (p *Policy) RuleSet() *RuleSet { return p.rules }

// Protected returns the glob of full_refresh_protected that protects the
// dataset of the pipeline from a full refresh, or "".
func (p *Policy) Protected(pipeline, dataset string) string {
	name := strings.ToLower(pipeline + "." + dataset)
	for _, g := range p.FullRefreshProtected {
		if ok, _ := path.Match(strings.ToLower(g), name); ok {
			return g
		}
	}
	return ""
}

// Production parity policies (production_parity).
const (
	ParityRefuse = "refuse"
	ParityWarn   = "warn"
)

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
