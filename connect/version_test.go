package connect

import "testing"

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		bad  bool
	}{
		{in: "4.1.0", want: Version{4, 1, 0}},
		{in: "4.2.0-rc3", want: Version{4, 2, 0}},
		{in: "4.3", want: Version{4, 3, 0}},
		{in: " 4.3.0-SNAPSHOT ", want: Version{4, 3, 0}},
		{in: "4", bad: true},
		{in: "4.x.0", bad: true},
		{in: "", bad: true},
		{in: "4.1.0.1", bad: true},
	} {
		got, err := ParseVersion(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
	v := Version{4, 2, 1}
	if !v.AtLeast(4, 1) || !v.AtLeast(4, 2) || v.AtLeast(4, 3) || !v.AtLeast(3, 9) {
		t.Errorf("AtLeast wrong for %v", v)
	}
}
