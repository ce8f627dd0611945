package sources

import "testing"

func TestParseNameAndAllowed(t *testing.T) {
	globs := []string{"spark_catalog.default.*", "spark_catalog.files.shop_*", "spark_catalog.raw"}
	for _, tc := range []struct {
		in, want string
		allowed  bool
	}{
		{"Orders", "spark_catalog.files.orders", false},
		{"shop_eu", "spark_catalog.files.shop_eu", true},
		{"raw.x", "spark_catalog.raw.x", true},
		{"default.x", "spark_catalog.default.x", true},
		{"cat.default.x", "cat.default.x", false},
	} {
		n, err := ParseName(tc.in)
		if err != nil || n.String() != tc.want || Allowed(n, globs) != tc.allowed {
			t.Errorf("%s: %v %v allowed=%v, want %s allowed=%v", tc.in, n, err, Allowed(n, globs), tc.want, tc.allowed)
		}
	}
	for _, bad := range []string{"", "a.b.c.d", "a-b", "a..b", "`x`", "x y"} {
		if _, err := ParseName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
