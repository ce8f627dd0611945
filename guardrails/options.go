package guardrails

import (
	"errors"
	"fmt"
	"strings"
)

// Defaults used when CheckOptions leaves a limit at zero.
const (
	DefaultMaxBytes = 64 << 10 // largest body accepted, in bytes
	DefaultMaxDepth = 200      // deepest parenthesis nesting accepted
)

// CheckOptions says what a body may read. The server fills it from its
// configuration and the pipeline; nothing in it comes from the agent.
type CheckOptions struct {
	// AllowedSources are three-part globs "catalog.schema.table"; '*' in a
	// part matches any run of characters within that part. Matching is
	// case-insensitive, like Spark's name resolution.
	AllowedSources []string
	// DefaultCatalog and DefaultSchema qualify one- and two-part names
	// (t is DefaultCatalog.DefaultSchema.t, s.t is DefaultCatalog.s.t).
	DefaultCatalog string
	DefaultSchema  string
	// Datasets are the names of the datasets declared in the pipeline. They
	// live in DefaultCatalog.DefaultSchema and may always be read.
	Datasets []string
	// AllowStream permits STREAM(x) / STREAM x reads: true only for
	// streaming tables and flows.
	AllowStream bool
	// MaxBytes caps the body size (0: DefaultMaxBytes).
	MaxBytes int
	// MaxDepth caps parenthesis nesting (0: DefaultMaxDepth).
	MaxDepth int
	// SparkLine ("4.2") selects the built-in functions the target Spark
	// line has; empty allows only those every supported line has.
	SparkLine string
	// Functions narrows the built-ins a body may call (the policy file's
	// functions.allow and functions.deny); nil allows every built-in that is
	// not always denied.
	Functions *FunctionPolicy
}

func (o *CheckOptions) maxBytes() int {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

func (o *CheckOptions) maxDepth() int {
	if o.MaxDepth > 0 {
		return o.MaxDepth
	}
	return DefaultMaxDepth
}

// Validate reports configuration mistakes: malformed globs, negative limits.
// CheckBody does not require valid options (a malformed glob matches
// nothing), but a server should refuse to start with them.
func (o CheckOptions) Validate() error {
	var errs []error
	for _, g := range o.AllowedSources {
		if err := validateGlob(g); err != nil {
			errs = append(errs, err)
		}
	}
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max bytes %d is negative; use 0 for the default %d", o.MaxBytes, DefaultMaxBytes))
	}
	if o.MaxDepth < 0 {
		errs = append(errs, fmt.Errorf("max depth %d is negative; use 0 for the default %d", o.MaxDepth, DefaultMaxDepth))
	}
	for _, d := range o.Datasets {
		if d == "" || strings.Contains(d, ".") {
			errs = append(errs, fmt.Errorf("dataset name %q must be a single non-empty name part", d))
		}
	}
	return errors.Join(errs...)
}

func validateGlob(g string) error {
	parts := strings.Split(g, ".")
	if len(parts) != 3 {
		return fmt.Errorf("allowed source %q must have three parts, catalog.schema.table (use * for any)", g)
	}
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("allowed source %q has an empty part", g)
		}
	}
	return nil
}

// MatchSource reports whether qualified name parts (catalog, schema, table)
// match one of the three-part globs of CheckOptions.AllowedSources, part by
// part and case-insensitively. A name of another length matches none.
func MatchSource(globs []string, parts []string) bool {
	for _, g := range globs {
		if matchGlob(g, parts) {
			return true
		}
	}
	return false
}

// matchGlob reports whether name parts match a three-part glob, part by part
// and case-insensitively.
func matchGlob(glob string, parts []string) bool {
	return matchGlobParts(strings.Split(strings.ToLower(glob), "."), parts)
}

// matchGlobParts is matchGlob with the glob already split and lower-cased.
func matchGlobParts(gp []string, parts []string) bool {
	if len(gp) != len(parts) {
		return false
	}
	for i := range gp {
		if !matchPart(gp[i], lowerName(parts[i])) {
			return false
		}
	}
	return true
}

// matchPart matches s against a pattern in which '*' stands for any run of
// characters (iterative, so no pattern can make it slow).
func matchPart(pat, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pat) && pat[p] == '*':
			star, mark = p, i
			p++
		case p < len(pat) && pat[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}
