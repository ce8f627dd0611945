// Package console is the operators' web console, served at /ui beside the
// MCP endpoint whenever the server speaks HTTP. It owns the pages, their
// templates and assets (embedded: no CDN, no script framework), the browser
// sessions, and the protection of a person's actions against cross-site
// requests.
//
// What it shows: the pipelines of the workspace (datasets, columns, the
// dependency graph drawn as server-side SVG, the generated SDP files); their
// validations, runs and promotions over time (from each pipeline's history
// log, with a small chart); the audit log, filterable by principal,
// conversation, tool and decision, with the result of the audit chain's
// verification where the log has one; and pending promotion approvals,
// which a signed-in person approves or denies.
//
// Authentication is the server's: a browser cannot easily send a bearer
// header, so the sign-in page exchanges the server's token for a session
// cookie (HttpOnly, SameSite=Strict, path /ui). Every state-changing request
// is a POST that must carry the session's CSRF token (synchronizer pattern)
// and an Origin (or Referer) naming this server; actions are audited.
package console
