package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Redacted replaces a secret value.
const Redacted = "[REDACTED]"

// maxString caps one string value kept in the log; longer values keep their
// start plus their length and SHA-256, which still identify them.
const maxString = 256 << 10

// secretKeyRE matches object keys whose values are secrets.
var secretKeyRE = regexp.MustCompile(`(?i)^(.*[_-])?(token|secret|password|passwd|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|authorization|auth|cookie)$`)

// secretPatterns find secret-looking substrings inside string values. A
// false positive costs a redacted literal in the log; a false negative
// leaks a secret, so they err on the side of redacting.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)`), Redacted},
	{regexp.MustCompile(`(?i)(;\s*(?:token|authorization)\s*=)[^;\s"']*`), "${1}" + Redacted},
	{regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{8,}`), "${1}${2}" + Redacted},
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}`), Redacted},
	{regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`), Redacted},
	{regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{30,}\b`), Redacted},
	{regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9\-]{10,}`), Redacted},
	{regexp.MustCompile(`\bdapi[0-9a-f]{32}\b`), Redacted},
	{regexp.MustCompile(`(?i)\b(password|passwd|pwd|secret|api[_-]?key|access[_-]?key|token)(\s*[=:]\s*)('[^']*'|"[^"]*"|[^\s,;'")]+)`), "${1}${2}" + Redacted},
	{regexp.MustCompile(`(?i)(://[^/\s:@]+:)[^@\s/]+@`), "${1}" + Redacted + "@"},
}

// RedactString replaces secret-looking substrings of s.
func RedactString(s string) string {
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}

// Redact returns raw JSON arguments with secrets replaced: the values of
// keys that name secrets (token, password, api_key, …) and secret-looking
// substrings of every string (bearer tokens, ;token= URL parameters, cloud
// keys, JWTs, private keys, user:password@ in URLs). Arguments that are not
// JSON are kept as one redacted string.
func Redact(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		out, _ := json.Marshal(map[string]string{"unparsed": capString(RedactString(string(raw)))})
		return out
	}
	v = redactValue(v)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		out, _ := json.Marshal(map[string]string{"unparsed": Redacted})
		return out
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretKeyRE.MatchString(k) {
				x[k] = Redacted
				continue
			}
			x[k] = redactValue(val)
		}
		return x
	case []any:
		for i, val := range x {
			x[i] = redactValue(val)
		}
		return x
	case string:
		return capString(RedactString(x))
	}
	return v
}

func capString(s string) string {
	if len(s) <= maxString {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	head := strings.ToValidUTF8(s[:maxString], "")
	return fmt.Sprintf("%s…[truncated: %d bytes, sha256 %s]", head, len(s), hex.EncodeToString(sum[:]))
}
