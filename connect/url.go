package connect

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// DefaultPort is the port a Spark Connect server listens on unless the URL
// names another one.
const DefaultPort = 15002

// DefaultMaxMessageSize is the largest gRPC message (in bytes) the client
// sends or accepts unless the URL sets grpc_max_message_size.
const DefaultMaxMessageSize = 128 << 20

// Parameter keys understood by ParseURL. Every other key becomes a gRPC
// metadata header.
const (
	keyToken          = "token"
	keyUseSSL         = "use_ssl"
	keyUserID         = "user_id"
	keyUserAgent      = "user_agent"
	keySessionID      = "session_id"
	keyMaxMessageSize = "grpc_max_message_size"
)

const urlExample = "sc://localhost:15002/;token=..."

// Endpoint is a parsed Spark Connect connection string.
//
// The zero values of Port and MaxMessageSize mean DefaultPort and
// DefaultMaxMessageSize.
type Endpoint struct {
	// Host is a host name or an IP address; an IPv6 address is stored
	// without brackets.
	Host string
	Port int
	// Token is sent as "authorization: Bearer <token>" on every call.
	Token  string
	UseSSL bool
	// UserID goes into the UserContext of every request.
	UserID string
	// UserAgent replaces the default gRPC user agent when set.
	UserAgent string
	// SessionID is a UUID in canonical lower-case form, or empty to let the
	// client pick one.
	SessionID      string
	MaxMessageSize int
	// Headers holds the parameters that are not known keys, as gRPC
	// metadata with lower-case names. ParseURL always sets a non-nil map.
	Headers map[string]string
}

// ParseURL parses a Spark Connect connection string of the form
//
//	sc://host[:port][/][;key=value]...
//
// for example sc://localhost:15002/;token=abc;use_ssl=true. IPv6 hosts go
// in brackets (sc://[::1]:15002). The path must be empty or "/", and
// parameters follow "/;". Keys are case-sensitive; values may be
// percent-encoded (use %3B for ';', %25 for '%', %3F for '?' and %23 for
// '#'). Empty parameter segments, as in "/;;token=x" or a trailing ';', are
// ignored. Surrounding white space is ignored.
//
// The keys token, use_ssl (true or false, default false), user_id,
// user_agent, session_id (a UUID) and grpc_max_message_size (bytes, default
// 128 MiB) configure the client; any other key is sent as a gRPC metadata
// header with its name lower-cased. The names authorization (use token=),
// user-agent (use user_agent=), content-type, te and names starting with
// "grpc-" or ":" are reserved.
//
// Error messages never contain the token.
func ParseURL(s string) (*Endpoint, error) {
	s = strings.TrimSpace(s)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("invalid Spark Connect URL %q: %s", redactURL(s), fmt.Sprintf(format, args...))
	}
	if s == "" {
		return nil, fail("empty (example: %s)", urlExample)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return nil, fail("control character %q at byte %d; percent-encode it in values", c, i)
		}
	}

	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, fail("missing \"sc://\" prefix (example: %s)", urlExample)
	}
	if !strings.EqualFold(scheme, "sc") {
		return nil, fail("scheme must be \"sc\" (example: %s)", urlExample)
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		if rest[i] == '?' {
			return nil, fail("query strings (\"?...\") are not supported: pass parameters as /;key=value, and percent-encode a '?' inside a value as %%3F")
		}
		return nil, fail("fragments (\"#...\") are not supported: percent-encode a '#' inside a value as %%23")
	}

	// The authority runs to the first '/' or ';'.
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/;"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	ep := &Endpoint{Port: DefaultPort, MaxMessageSize: DefaultMaxMessageSize, Headers: map[string]string{}}
	if err := parseAuthority(ep, authority); err != "" {
		return nil, fail("%s", err)
	}

	path, params, hasParams := strings.Cut(tail, ";")
	switch {
	case path == "" && hasParams:
		return nil, fail("parameters must follow \"/;\" (example: sc://%s/;%s)", ep.Target(), redactParams(params))
	case path != "" && path != "/":
		return nil, fail("path %q is not allowed: the path must be empty or \"/\", and parameters follow \"/;\" (example: %s)", path, urlExample)
	}
	if !hasParams {
		return ep, nil
	}

	seen := map[string]bool{}
	for _, seg := range strings.Split(params, ";") {
		if seg == "" {
			continue // tolerated: ";;" and a trailing ';'
		}
		key, raw, ok := strings.Cut(seg, "=")
		if !ok {
			if isSecretKey(seg) {
				return nil, fail("parameter %q has no \"=\": write %s=<value>", seg, seg)
			}
			return nil, fail("parameter %q has no \"=\": write key=value", seg)
		}
		if key == "" {
			return nil, fail("empty key in \";%s\"", redactSegment(seg))
		}
		if err := setParam(ep, key, raw, seen); err != "" {
			return nil, fail("%s", err)
		}
	}
	return ep, nil
}

// parseAuthority fills ep.Host and ep.Port from "host[:port]" and returns a
// description of the problem, or "".
func parseAuthority(ep *Endpoint, a string) string {
	if strings.Contains(a, "@") {
		return "user info (\"user@\") is not allowed: pass the credentials as ;token=... (and ;user_id=...) after \"/\""
	}
	if a == "" {
		return fmt.Sprintf("missing host (example: %s)", urlExample)
	}
	host, port := a, ""
	if a[0] == '[' {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return fmt.Sprintf("missing ']' after IPv6 address in %q (example: sc://[::1]:15002)", a)
		}
		host = a[1:end]
		after := a[end+1:]
		switch {
		case after == "":
		case after[0] == ':':
			port = after[1:]
			if port == "" {
				return fmt.Sprintf("empty port after ':' in %q: remove the ':' to use the default port %d", a, DefaultPort)
			}
		default:
			return fmt.Sprintf("unexpected %q after IPv6 address (example: sc://[::1]:15002)", after)
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return fmt.Sprintf("%q in brackets is not an IPv6 address (brackets are only for IPv6, without a zone; example: sc://[::1]:15002)", host)
		}
	} else {
		switch strings.Count(a, ":") {
		case 0:
		case 1:
			host, port, _ = strings.Cut(a, ":")
			if port == "" {
				return fmt.Sprintf("empty port after ':' in %q: remove the ':' to use the default port %d", a, DefaultPort)
			}
		default:
			return fmt.Sprintf("host %q: an IPv6 address must be in brackets (example: sc://[::1]:15002)", a)
		}
		if host == "" {
			return fmt.Sprintf("missing host (example: %s)", urlExample)
		}
		if err := checkHostName(host); err != "" {
			return err
		}
	}
	ep.Host = host
	if port != "" {
		n, err := parsePort(port)
		if err != "" {
			return err
		}
		ep.Port = n
	}
	return ""
}

func checkHostName(h string) string {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' {
			continue
		}
		if c >= utf8.RuneSelf {
			return fmt.Sprintf("host %q contains non-ASCII characters: use its punycode (xn--) form", h)
		}
		return fmt.Sprintf("host %q contains %q: a host is a DNS name or IP address", h, c)
	}
	return ""
}

func parsePort(p string) (int, string) {
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return 0, fmt.Sprintf("port %q is not a number (example: %s)", p, urlExample)
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Sprintf("port %q out of range 1-65535", p)
	}
	return n, ""
}

// setParam applies one key=value pair to ep and returns a description of
// the problem, or "". raw is the still percent-encoded value.
func setParam(ep *Endpoint, key, raw string, seen map[string]bool) string {
	secret := isSecretKey(key)
	val, err := url.PathUnescape(raw)
	if err != nil {
		if secret {
			return fmt.Sprintf("key %q: invalid percent-encoding in the value (write '%%' as %%25)", key)
		}
		return fmt.Sprintf("key %q: invalid percent-encoding in %q (write '%%' as %%25)", key, raw)
	}

	if !isKnownKey(key) {
		for _, k := range [...]string{keyToken, keyUseSSL, keyUserID, keyUserAgent, keySessionID, keyMaxMessageSize} {
			if strings.EqualFold(key, k) {
				return fmt.Sprintf("unknown key %q: keys are case-sensitive, did you mean %q?", key, k)
			}
		}
		name := strings.ToLower(key)
		if seen[name] {
			return fmt.Sprintf("duplicate key %q (header names are case-insensitive)", key)
		}
		seen[name] = true
		if err := checkHeader(name, val); err != "" {
			return err
		}
		ep.Headers[name] = val
		return ""
	}

	if seen[key] {
		return fmt.Sprintf("duplicate key %q", key)
	}
	seen[key] = true
	switch key {
	case keyToken:
		if val == "" {
			return "key \"token\": empty value: remove ;token= or set the token"
		}
		if !isTokenText(val) {
			return "key \"token\": the value contains spaces, control or non-ASCII characters, which cannot be sent in a header: check it was copied correctly"
		}
		ep.Token = val
	case keyUseSSL:
		switch {
		case strings.EqualFold(val, "true"):
			ep.UseSSL = true
		case strings.EqualFold(val, "false"):
			ep.UseSSL = false
		default:
			return fmt.Sprintf("key \"use_ssl\": want true or false, got %q", val)
		}
	case keyUserID:
		if !utf8.ValidString(val) {
			return fmt.Sprintf("key \"user_id\": %q is not valid UTF-8", val)
		}
		ep.UserID = val
	case keyUserAgent:
		if !isPrintableASCII(val) {
			return fmt.Sprintf("key \"user_agent\": %q must be printable ASCII", val)
		}
		ep.UserAgent = val
	case keySessionID:
		id, err := uuid.Parse(val)
		if err != nil || len(val) != 36 {
			return fmt.Sprintf("session_id %q is not a UUID (example: session_id=%s)", val, "00112233-4455-6677-8899-aabbccddeeff")
		}
		ep.SessionID = id.String()
	case keyMaxMessageSize:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 1 || n > math.MaxInt32 {
			return fmt.Sprintf("key \"grpc_max_message_size\": want a positive number of bytes up to %d, got %q", math.MaxInt32, val)
		}
		ep.MaxMessageSize = int(n)
	}
	return ""
}

// checkHeader reports why name/value cannot be sent as extra gRPC
// metadata, or "". name is already lower-case.
func checkHeader(name, val string) string {
	switch {
	case name == "authorization":
		return fmt.Sprintf("key %q is reserved: pass the token as ;token=... instead", name)
	case name == "user-agent":
		return fmt.Sprintf("key %q is reserved: use ;user_agent=... instead", name)
	case name == "content-type" || name == "te" || strings.HasPrefix(name, "grpc-") || strings.HasPrefix(name, ":"):
		return fmt.Sprintf("key %q is a reserved gRPC header name and cannot be set from the URL", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Sprintf("key %q: header names may only contain letters, digits, '-', '_' and '.'", name)
		}
	}
	if !strings.HasSuffix(name, "-bin") && !isPrintableASCII(val) {
		return fmt.Sprintf("key %q: header value %q must be printable ASCII (binary values need a name ending in \"-bin\")", name, val)
	}
	return ""
}

func isKnownKey(k string) bool {
	switch k {
	case keyToken, keyUseSSL, keyUserID, keyUserAgent, keySessionID, keyMaxMessageSize:
		return true
	}
	return false
}

// isSecretKey reports whether the value of key k must not appear in error
// messages.
func isSecretKey(k string) bool {
	return strings.EqualFold(k, keyToken) || strings.EqualFold(k, "authorization")
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isTokenText reports whether s is visible ASCII without spaces.
func isTokenText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// redactSegment hides the value of a secret key=value segment.
func redactSegment(seg string) string {
	if k, _, ok := strings.Cut(seg, "="); ok && isSecretKey(k) {
		return k + "=***"
	}
	return seg
}

// redactParams hides the secret values in a ';'-separated parameter list.
func redactParams(p string) string {
	segs := strings.Split(p, ";")
	for j, seg := range segs {
		segs[j] = redactSegment(seg)
	}
	return strings.Join(segs, ";")
}

// redactURL replaces user info and the values of token-like parameters in
// a raw connection string by "***" so that it can be quoted in an error.
func redactURL(s string) string {
	head, params, hasParams := strings.Cut(s, ";")
	if i := strings.Index(head, "://"); i >= 0 {
		auth := head[i+3:]
		if j := strings.IndexByte(auth, '/'); j >= 0 {
			auth = auth[:j]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			head = head[:i+3] + "***" + head[i+3+at:]
		}
	}
	if !hasParams {
		return head
	}
	return head + ";" + redactParams(params)
}

// String returns the connection string for e, with the token replaced by
// "***". Parameters appear in a fixed order: the known keys, then the
// headers sorted by name. Values are percent-encoded as needed, so the
// result parses back to an equal Endpoint (apart from the token).
func (e *Endpoint) String() string {
	var b strings.Builder
	b.WriteString("sc://")
	b.WriteString(e.Target())
	b.WriteByte('/')
	add := func(k, v string) {
		b.WriteByte(';')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(escapeValue(v))
	}
	if e.Token != "" {
		add(keyToken, "***")
	}
	if e.UseSSL {
		add(keyUseSSL, "true")
	}
	if e.UserID != "" {
		add(keyUserID, e.UserID)
	}
	if e.UserAgent != "" {
		add(keyUserAgent, e.UserAgent)
	}
	if e.SessionID != "" {
		add(keySessionID, e.SessionID)
	}
	if e.MaxMessageSize > 0 && e.MaxMessageSize != DefaultMaxMessageSize {
		add(keyMaxMessageSize, strconv.Itoa(e.MaxMessageSize))
	}
	names := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		add(k, e.Headers[k])
	}
	return b.String()
}

// escapeValue percent-encodes every byte of v that is not safe inside a
// parameter value.
func escapeValue(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+*:@/,!$()'=", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Target returns "host:port" for grpc.NewClient, with an IPv6 address in
// brackets.
func (e *Endpoint) Target() string {
	port := e.Port
	if port == 0 {
		port = DefaultPort
	}
	return net.JoinHostPort(e.Host, strconv.Itoa(port))
}

// IsLoopback reports whether the host is "localhost" or a loopback address
// (127.0.0.0/8 or ::1).
func (e *Endpoint) IsLoopback() bool {
	h := strings.TrimSuffix(e.Host, ".")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(e.Host)
	return err == nil && addr.Zone() == "" && addr.Unmap().IsLoopback()
}
