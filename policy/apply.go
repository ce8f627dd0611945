package policy

import (
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/config"
)

// Apply puts the policy's limits and sources into cfg, whose environments
// must be set (before [config.Config.Validate]), and checks that each
// environment writes where the policy's target allows.
func (p *Policy) Apply(cfg *config.Config) error {
	cfg.Limits = p.Limits
	cfg.Environments.Sandbox.Sources = append([]string(nil), p.Environments.Sandbox.Sources...)
	var ps []config.Problem
	check := func(name string, env *config.Environment, pe Environment) {
		if pe.Target == "" {
			return
		}
		cat, sch := env.Catalog, env.Schema
		if name == config.Sandbox && cat == "" {
			cat, sch = config.DefaultSandboxCatalog, config.DefaultSandboxSchema
		}
		if !strings.EqualFold(cat+"."+sch, pe.Target) {
			key := "environments." + name + ".target"
			ps = append(ps, config.Problem{Key: key, Line: p.line(key),
				Message: fmt.Sprintf("the configuration writes %s datasets to %s.%s, but the policy allows only %s", name, cat, sch, pe.Target),
				Fix:     fmt.Sprintf("set environments.%s.catalog and schema in the configuration to match, or change the policy's target", name)})
		}
	}
	check(config.Sandbox, &cfg.Environments.Sandbox, p.Environments.Sandbox)
	if prod := cfg.Environments.Production; prod != nil {
		prod.Sources = append([]string(nil), p.Environments.Production.Sources...)
		check(config.Production, prod, p.Environments.Production)
	}
	if len(ps) > 0 {
		return &config.Error{File: p.file, Problems: ps}
	}
	return nil
}
