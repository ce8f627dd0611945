// Package policy owns the guardrail policy file: what an agent may read
// (source globs per environment), where datasets may be written, which
// built-in functions it may call, the limits of every call, which tools
// exist, which datasets are never fully refreshed, and CEL rules evaluated
// on every call with deny, warn or audit actions.
//
// The file is YAML and strict, like the configuration file: unknown keys,
// duplicate keys and values of the wrong type are errors naming the line,
// the key and the fix, all reported at once. Without a file the built-in
// default (default.yaml, printed by `sdp-mcp policy show`) applies. The
// SHA-256 of the policy's bytes identifies it in every audit record.
package policy
