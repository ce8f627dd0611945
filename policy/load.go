package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/guardrails"
)

// maxFileBytes caps a policy file; a real one is a few kilobytes.
const maxFileBytes = 1 << 20

var (
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	// tableGlobRE is the table part of a source glob: name characters and '*'.
	tableGlobRE = regexp.MustCompile(`^[A-Za-z0-9_*]{1,128}$`)
	// datasetGlobRE is a full_refresh_protected entry: pipeline.dataset,
	// each part of name characters and '*'.
	datasetGlobRE = regexp.MustCompile(`^[a-z0-9_*]{1,63}\.[a-z0-9_*]{1,63}$`)
)

// Load reads and checks the policy file at path; an empty path means the
// built-in default. Every problem is reported at once, as a *config.Error.
func Load(path string) (*Policy, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &config.Error{File: path, Problems: []config.Problem{{Key: "policy", Message: "the policy file does not exist",
			Fix: "pass the path of an existing policy file (start from the output of sdp-mcp policy show), or leave policy out to use the built-in default"}}}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the policy: %w", err)
	}
	if len(data) > maxFileBytes {
		return nil, &config.Error{File: path, Problems: []config.Problem{{Key: "policy", Message: "the file is larger than 1 MiB",
			Fix: "pass the sdp-mcp policy file"}}}
	}
	return Parse(path, data)
}

// Parse is Load for a policy already in memory; name is used in messages.
// Keys the file leaves out keep the built-in default's values; a list
// given in the file replaces the default list.
func Parse(name string, data []byte) (*Policy, error) {
	p := &Policy{file: name, sha: digest(data), lines: map[string]int{}}
	if err := config.DecodeYAML("(built-in default policy)", DefaultYAML, p, map[string]int{}, nil); err != nil {
		return nil, fmt.Errorf("the built-in default policy is invalid: %w", err)
	}
	p.Version = 0
	if err := config.DecodeYAML(name, data, p, p.lines, nil); err != nil {
		return nil, err
	}
	if ps := p.check(); len(ps) > 0 {
		return nil, &config.Error{File: name, Problems: ps}
	}
	return p, nil
}

// check validates the decoded policy and compiles what it needs.
func (p *Policy) check() []config.Problem {
	var ps []config.Problem
	add := func(key, msg, fix string) {
		ps = append(ps, config.Problem{Key: key, Line: p.line(key), Message: msg, Fix: fix})
	}
	if p.Version != Version {
		msg := "missing"
		if p.Version != 0 {
			msg = fmt.Sprintf("version %d is not supported", p.Version)
		}
		add("version", msg, "start the file with version: 1")
	}
	for _, env := range []struct {
		name string
		e    *Environment
	}{{config.Sandbox, &p.Environments.Sandbox}, {config.Production, &p.Environments.Production}} {
		key := "environments." + env.name
		for i, s := range env.e.Sources {
			if msg := checkSourceGlob(s); msg != "" {
				add(fmt.Sprintf("%s.sources[%d]", key, i), msg,
					"write catalog.schema.table, with * only in the table part, e.g. spark_catalog.raw.* or main.sales.orders_*")
			}
		}
		if t := env.e.Target; t != "" {
			cat, sch, ok := strings.Cut(t, ".")
			if !ok || !identRE.MatchString(cat) || !identRE.MatchString(sch) {
				add(key+".target", fmt.Sprintf("%q is not catalog.schema", t), "write the catalog and schema datasets are written to, e.g. main.analytics")
			}
		}
	}
	fp, err := guardrails.NewFunctionPolicy(p.Functions.Allow, p.Functions.Deny)
	if err != nil {
		for _, e := range unjoin(err) {
			key, msg, _ := strings.Cut(e.Error(), ": ")
			add(key, msg, "see functions in the output of sdp-mcp policy show")
		}
	}
	p.functions = fp
	ps = append(ps, p.Limits.Check(p.line)...)
	for i, g := range p.FullRefreshProtected {
		if !datasetGlobRE.MatchString(g) {
			add(fmt.Sprintf("full_refresh_protected[%d]", i), fmt.Sprintf("%q is not a pipeline.dataset glob", g),
				"write pipeline.dataset in lower case, with * for any characters, e.g. sales.orders_history or \"*.scd_*\"")
		}
	}
	switch p.ProductionParity {
	case ParityRefuse, ParityWarn:
	default:
		add("production_parity", fmt.Sprintf("%q is not refuse or warn", p.ProductionParity),
			"write refuse (promote stops when production's Spark minor version or table format differs from the sandbox's) or warn (it goes ahead with a warning)")
	}
	p.checkPrincipals(add)
	rs, err := CompileRules(p.Rules, func(i int) int { return p.line(fmt.Sprintf("rules[%d]", i)) })
	var re *RulesError
	switch {
	case errors.As(err, &re):
		for _, rp := range re.Problems {
			key := fmt.Sprintf("rules[%d]", rp.Index)
			if rp.Name != "" {
				key += " (" + rp.Name + ")"
			}
			ps = append(ps, config.Problem{Key: key, Line: rp.Line, Message: rp.Message, Fix: rp.Fix})
		}
	case err != nil:
		add("rules", err.Error(), "fix the rules")
	}
	p.rules = rs
	return ps
}

// line is the line of key in the file, or of its closest parent set there.
func (p *Policy) line(key string) int {
	for key != "" {
		if l, ok := p.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// checkSourceGlob returns what is wrong with a source glob, or "".
func checkSourceGlob(s string) string {
	parts := strings.Split(s, ".")
	switch {
	case len(parts) != 3:
		return fmt.Sprintf("%q does not have three parts", s)
	case !identRE.MatchString(parts[0]) || !identRE.MatchString(parts[1]):
		return fmt.Sprintf("%q: the catalog and schema must be plain names (letters, digits, _), without *", s)
	case !tableGlobRE.MatchString(parts[2]):
		return fmt.Sprintf("%q: the table part may hold only letters, digits, _ and *", s)
	}
	return ""
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
