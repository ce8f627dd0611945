package connect

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Version is a Spark release number such as 4.1.0.
type Version struct{ Major, Minor, Patch int }

// ParseVersion reads "4.1.0", "4.2.0-rc3" or "4.3.0-SNAPSHOT"; a suffix
// after '-' is ignored.
func ParseVersion(s string) (Version, error) {
	core, _, _ := strings.Cut(strings.TrimSpace(s), "-")
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("spark version %q: want major.minor[.patch]", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("spark version %q: %q is not a number", s, p)
		}
		v[i] = n
	}
	return Version{v[0], v[1], v[2]}, nil
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// The oldest Spark Connect server the client supports: the first with Spark
// Declarative Pipelines in their current wire shape.
const minServerMajor, minServerMinor = 4, 1

// ServerVersion asks the server for its version (once per client) and
// checks that it is supported. Callers gate fields that only newer servers
// understand on the result, e.g. v.AtLeast(4, 2).
func (c *Client) ServerVersion(ctx context.Context) (Version, error) {
	c.mu.Lock()
	if c.version != nil {
		v := *c.version
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	s, err := c.SparkVersion(ctx)
	if err != nil {
		return Version{}, err
	}
	v, err := ParseVersion(s)
	if err != nil {
		return Version{}, err
	}
	if !v.AtLeast(minServerMajor, minServerMinor) {
		return v, fmt.Errorf("spark connect server %s is too old: sdp-mcp needs Spark %d.%d or newer", v, minServerMajor, minServerMinor)
	}
	c.mu.Lock()
	c.version = &v
	c.mu.Unlock()
	return v, nil
}
