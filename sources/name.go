package sources

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// DefaultCatalog and DefaultSchema complete a bare table name.
const (
	DefaultCatalog = "spark_catalog"
	DefaultSchema  = "files"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Name is a source table's catalog.schema.table.
type Name struct{ Catalog, Schema, Table string }

func (n Name) String() string { return n.Catalog + "." + n.Schema + "." + n.Table }

// quoted is the name with each part backquoted.
func (n Name) quoted() string {
	return quote(n.Catalog) + "." + quote(n.Schema) + "." + quote(n.Table)
}

func quote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// ParseName reads table, schema.table or catalog.schema.table (plain
// identifiers: letters, digits, underscores), lower-cased. A bare table goes
// into spark_catalog.files, a schema.table into spark_catalog.
func ParseName(s string) (Name, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), ".")
	for _, p := range parts {
		if !identRE.MatchString(p) {
			return Name{}, fmt.Errorf("invalid source name %q: want table, schema.table or catalog.schema.table, each part letters, digits and underscores (e.g. files.orders_2024)", s)
		}
	}
	switch len(parts) {
	case 1:
		return Name{DefaultCatalog, DefaultSchema, parts[0]}, nil
	case 2:
		return Name{DefaultCatalog, parts[0], parts[1]}, nil
	case 3:
		return Name{parts[0], parts[1], parts[2]}, nil
	}
	return Name{}, fmt.Errorf("invalid source name %q: at most three parts, catalog.schema.table", s)
}

// Allowed reports whether the policy's source globs (catalog.schema.table,
// * in the table part; catalog.schema alone means every table) let agents
// read n.
func Allowed(n Name, globs []string) bool {
	for _, g := range globs {
		parts := strings.Split(strings.ToLower(g), ".")
		if len(parts) == 2 {
			parts = append(parts, "*")
		}
		if len(parts) != 3 || parts[0] != n.Catalog || parts[1] != n.Schema {
			continue
		}
		if ok, _ := path.Match(parts[2], n.Table); ok {
			return true
		}
	}
	return false
}

// schemas returns the distinct catalog.schema pairs of the globs.
func schemas(globs []string) []Name {
	var out []Name
	seen := map[string]bool{}
	for _, g := range globs {
		parts := strings.Split(strings.ToLower(g), ".")
		if len(parts) < 2 || seen[parts[0]+"."+parts[1]] {
			continue
		}
		seen[parts[0]+"."+parts[1]] = true
		out = append(out, Name{Catalog: parts[0], Schema: parts[1]})
	}
	return out
}
