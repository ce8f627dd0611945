package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/config"
)

// Principal narrows the policy for one principal (an HTTP client's name,
// "oauth:<subject>", or an OS user on stdio): fewer tools, fewer sources,
// lower limits. It can never widen: a file that tries is refused.
type Principal struct {
	// Tools switches tools off for the principal (true keeps the global
	// setting; a tool off globally cannot be switched on).
	Tools Tools `yaml:"tools"`
	// Sources, per environment, are the only sources the principal may
	// read; each glob must lie within the global sources of that
	// environment. Empty keeps the global list.
	Sources PrincipalSources `yaml:"sources"`
	// Limits lowers limits for the principal.
	Limits PrincipalLimits `yaml:"limits"`
}

// PrincipalSources are a principal's source globs per environment.
type PrincipalSources struct {
	Sandbox    []string `yaml:"sandbox"`
	Production []string `yaml:"production"`
}

// PrincipalLimits are the limits a principal may have lowered.
type PrincipalLimits struct {
	// CallsPerMinute is the principal's rate of tool calls per
	// conversation (at most the global limits.calls_per_minute).
	CallsPerMinute int `yaml:"calls_per_minute"`
	// PreviewRowsMax is the largest preview limit it may ask for.
	PreviewRowsMax int `yaml:"preview_rows_max"`
}

// ForPrincipal returns the narrowing for a principal, or nil.
func (p *Policy) ForPrincipal(name string) *Principal {
	if pr, ok := p.Principals[name]; ok {
		return &pr
	}
	return nil
}

// PrincipalToolEnabled reports whether the principal may use the tool:
// the global switch and the principal's own.
func (p *Policy) PrincipalToolEnabled(principal, tool string) bool {
	if !p.ToolEnabled(tool) {
		return false
	}
	pr := p.ForPrincipal(principal)
	if pr == nil {
		return true
	}
	s, ok := pr.Tools.switches()[tool]
	return !ok || s == nil || *s
}

// CallsPerMinute is the principal's rate limit, or the global one.
func (p *Policy) CallsPerMinute(principal string) int {
	if pr := p.ForPrincipal(principal); pr != nil && pr.Limits.CallsPerMinute > 0 {
		return pr.Limits.CallsPerMinute
	}
	return p.Limits.CallsPerMinute
}

// SourceAllowed reports whether the principal may read relation (a
// qualified catalog.schema.table, any case) in env; with no narrowing for
// the principal it is always true (the global sources are checked by the
// guard). It returns the globs that were checked, for messages.
func (p *Policy) SourceAllowed(principal, env, relation string) (bool, []string) {
	pr := p.ForPrincipal(principal)
	if pr == nil {
		return true, nil
	}
	globs := pr.Sources.Sandbox
	if env == config.Production {
		globs = pr.Sources.Production
	}
	if len(globs) == 0 {
		return true, nil
	}
	rel := strings.ToLower(relation)
	for _, g := range globs {
		if ok, _ := path.Match(strings.ToLower(g), rel); ok {
			return true, globs
		}
	}
	return false, globs
}

// checkPrincipals refuses any principal entry that would widen the global
// policy.
func (p *Policy) checkPrincipals(add func(key, msg, fix string)) {
	names := make([]string, 0, len(p.Principals))
	for n := range p.Principals {
		names = append(names, n)
	}
	slices.Sort(names)
	global := p.Tools.switches()
	for _, name := range names {
		pr := p.Principals[name]
		key := "principals." + name
		for tool, s := range pr.Tools.switches() {
			if s != nil && *s && global[tool] != nil && !*global[tool] {
				add(key+".tools."+tool, "widens the policy: "+tool+" is switched off for everyone (tools."+tool+": false)",
					"a principal entry may only narrow: remove it, or switch the tool on globally")
			}
		}
		for _, env := range []struct {
			name           string
			narrow, global []string
		}{{config.Sandbox, pr.Sources.Sandbox, p.Environments.Sandbox.Sources},
			{config.Production, pr.Sources.Production, p.Environments.Production.Sources}} {
			for i, g := range env.narrow {
				k := fmt.Sprintf("%s.sources.%s[%d]", key, env.name, i)
				if msg := checkSourceGlob(g); msg != "" {
					add(k, msg, "write catalog.schema.table, with * only in the table part")
					continue
				}
				if !globWithin(g, env.global) {
					add(k, fmt.Sprintf("widens the policy: %q is not within the %s sources %v", g, env.name, env.global),
						"a principal entry may only narrow: list sources inside environments."+env.name+".sources")
				}
			}
		}
		for _, l := range []struct {
			name        string
			narrow, max int
		}{{"calls_per_minute", pr.Limits.CallsPerMinute, p.Limits.CallsPerMinute},
			{"preview_rows_max", pr.Limits.PreviewRowsMax, p.Limits.PreviewRowsMax}} {
			switch {
			case l.narrow < 0:
				add(key+".limits."+l.name, "is negative", "use a positive number, or leave it out")
			case l.narrow > l.max:
				add(key+".limits."+l.name, fmt.Sprintf("widens the policy: %d is above the global limits.%s of %d", l.narrow, l.name, l.max),
					fmt.Sprintf("a principal entry may only narrow: use at most %d", l.max))
			}
		}
	}
}

// globWithin reports whether every relation g matches is matched by one of
// the global globs: same catalog and schema, and a global table part of *
// or one matching g's table part (equal when g has a *).
func globWithin(g string, global []string) bool {
	gp := strings.Split(strings.ToLower(g), ".")
	for _, o := range global {
		op := strings.Split(strings.ToLower(o), ".")
		if len(op) != 3 || op[0] != gp[0] || op[1] != gp[1] {
			continue
		}
		if op[2] == "*" || op[2] == gp[2] {
			return true
		}
		if !strings.Contains(gp[2], "*") {
			if ok, _ := path.Match(op[2], gp[2]); ok {
				return true
			}
		}
	}
	return false
}
