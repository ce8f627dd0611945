package guardrails

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// FunctionPolicy narrows the built-in functions a body may call, beyond the
// functions that are always denied (reflect and the like, which no policy
// can allow). Build it with [NewFunctionPolicy]; nil allows every built-in.
type FunctionPolicy struct {
	allow map[string]bool // nil: every built-in
	deny  map[string]bool
	list  string // the allow-list for hints, sorted
}

// NewFunctionPolicy checks the names (each must be a Spark built-in, and
// none of the allowed ones may be always denied) and returns the policy.
// An empty allow list allows every built-in not in deny.
func NewFunctionPolicy(allow, deny []string) (*FunctionPolicy, error) {
	var errs []error
	check := func(list, name string) string {
		n := strings.ToLower(strings.TrimSpace(name))
		if why, ok := deniedFunctions[n]; ok {
			if list == "allow" {
				errs = append(errs, fmt.Errorf("functions.allow: %s is always denied (it %s); remove it", n, why))
			}
			return ""
		}
		if !builtinSet[n] {
			errs = append(errs, fmt.Errorf("functions.%s: %q is not a Spark built-in function; list built-in names such as upper or date_trunc", list, name))
			return ""
		}
		return n
	}
	fp := &FunctionPolicy{deny: map[string]bool{}}
	for _, d := range deny {
		if n := check("deny", d); n != "" {
			fp.deny[n] = true
		}
	}
	if len(allow) > 0 {
		fp.allow = map[string]bool{}
		var names []string
		for _, a := range allow {
			if n := check("allow", a); n != "" && !fp.allow[n] {
				fp.allow[n] = true
				names = append(names, n)
			}
		}
		slices.Sort(names)
		fp.list = strings.Join(names, ", ")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return fp, nil
}

// allows reports whether the policy lets a body call the built-in name
// (lower case).
func (fp *FunctionPolicy) allows(name string) bool {
	if fp == nil {
		return true
	}
	if fp.deny[name] {
		return false
	}
	return fp.allow == nil || fp.allow[name]
}

func (fp *FunctionPolicy) hint(name string) string {
	if fp.deny[name] {
		return "remove the call to " + name + "; the policy denies it (functions.deny), so compute the value another way"
	}
	if len(fp.list) > 600 {
		return "remove the call to " + name + "; the policy allows only the functions listed in its functions.allow"
	}
	return "remove the call to " + name + "; the policy allows only these functions: " + fp.list
}
