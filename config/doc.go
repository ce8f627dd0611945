// Package config holds the settings of the sdp-mcp server: one YAML file,
// overridden by command-line flags, validated once before anything starts.
//
// The file is strict: an unknown key, a value of the wrong type or a
// duplicate key is an error that names the line, the key and the fix. With
// no file at all every setting has a working default: the sandbox
// environment is the local Spark Connect server started by the launcher,
// stdio is the transport, and promote is unavailable because no production
// environment is configured.
//
// What the agent may read and do (sources, functions, limits, tools, rules)
// is not set here but in the policy file the policy key names (package
// policy); its limits and sources end up in [Config.Limits] and
// [Environment.Sources].
//
// Secrets never live in the file. The file names the environment variable
// that holds each one (token_env), and [Config.Validate] reads it from the
// environment through the lookup function it is given. A Spark Connect URL
// with an inline ;token= is rejected.
//
// An example:
//
//	workspace: ./sdp-workspace          # relative to this file
//	mode:
//	  sandbox_only: false
//	  read_only: false
//	environments:
//	  sandbox:                          # no url: the local sandbox, started on demand
//	    schema: dev
//	  production:
//	    url: sc://spark.example.com:15002/;use_ssl=true
//	    token_env: SDP_PROD_TOKEN
//	    catalog: main
//	    schema: analytics
//	    storage: s3://bucket/sdp/checkpoints
//	policy: ./policy.yaml               # sources, functions, limits, tools, rules (package policy)
//	http:
//	  listen: 127.0.0.1:8765
//	  token_env: SDP_MCP_HTTP_TOKEN
//	audit:
//	  path: audit/audit.jsonl           # relative to the workspace
//	  max_bytes: 67108864               # rotate past 64 MiB; the hash chain goes on
package config
