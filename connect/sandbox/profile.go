package sandbox

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Table formats an environment can state.
const (
	FormatDelta   = "delta"
	FormatIceberg = "iceberg"
	FormatParquet = "parquet"
)

// Formats are the table formats an environment can state, in the order
// messages list them.
var Formats = []string{FormatDelta, FormatIceberg, FormatParquet}

// FileBased reports whether format writes plain files with no transaction
// log (parquet): such tables lose rows when two streaming flows append to
// one table.
func FileBased(format string) bool { return format == FormatParquet }

// Profile is what an environment runs: a Spark line ("4.2") and a table
// format. The zero Profile means [DefaultProfile].
type Profile struct {
	Spark  string // Spark line, major.minor
	Format string // FormatDelta, FormatIceberg or FormatParquet
}

func (p Profile) String() string { return "Spark " + p.Spark + " + " + p.Format }

// IsZero reports whether p is the zero Profile.
func (p Profile) IsZero() bool { return p == Profile{} }

// Line is a Spark line the sandbox can install: the pyspark release
// installed for it.
type Line struct {
	Line    string // major.minor, e.g. "4.2"
	PySpark string // the pinned pyspark release, e.g. "4.2.0"
}

// Lines are the supported Spark lines, oldest first.
var Lines = []Line{
	{Line: "4.2", PySpark: "4.2.0"},
	{Line: "4.3", PySpark: "4.3.0"},
}

// LineOf returns the supported line named line ("4.2"), or false.
func LineOf(line string) (Line, bool) {
	i := slices.IndexFunc(Lines, func(l Line) bool { return l.Line == line })
	if i < 0 {
		return Line{}, false
	}
	return Lines[i], true
}

// DefaultProfile is the sandbox's profile when the configuration names
// none: Spark 4.2 + Delta Lake, the newest combination whose lakehouse
// format works end to end (no Delta release exists for Spark 4.3 yet).
// Spark 4.3 + parquet stays selectable (spark: "4.3").
func DefaultProfile() Profile { return Profile{Spark: defaultLine, Format: defaultFormat} }

const (
	defaultLine   = "4.2"
	defaultFormat = FormatDelta
)

// SparkVersion is the pyspark / Spark release of [DefaultProfile].
const SparkVersion = "4.2.0"

// Supported is one profile the local sandbox can run, with what it needs.
type Supported struct {
	Profile
	Connector *Connector // nil when the format needs no extra jars
}

// SupportedProfiles lists every profile the local sandbox can install and
// run, in the order messages and documentation list them.
func SupportedProfiles() []Supported {
	return []Supported{
		{Profile: Profile{Spark: "4.2", Format: FormatDelta}, Connector: &delta44},
		{Profile: Profile{Spark: "4.2", Format: FormatParquet}},
		{Profile: Profile{Spark: "4.3", Format: FormatParquet}},
	}
}

var lineRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// CheckLine checks the syntax of a Spark line ("4.2"): a major.minor pair,
// not a patch release. It does not check that the sandbox supports it.
func CheckLine(line string) error {
	if lineRE.MatchString(line) {
		return nil
	}
	if m := regexp.MustCompile(`^([0-9]+\.[0-9]+)\.[0-9]+`).FindStringSubmatch(line); m != nil {
		return fmt.Errorf("%q is a release, not a Spark line; write the line: %s", line, m[1])
	}
	return fmt.Errorf("%q is not a Spark line; write major.minor, e.g. 4.2", line)
}

// CheckFormat checks that format is one of [Formats].
func CheckFormat(format string) error {
	if slices.Contains(Formats, format) {
		return nil
	}
	return fmt.Errorf("unknown table format %q; use one of %s", format, strings.Join(Formats, ", "))
}

// ResolveProfile completes a profile the local sandbox is to run: an empty
// line and format mean [DefaultProfile]; only a line means that line with its
// preferred format (a lakehouse format when one exists for it); only a
// format means the newest line that has it. It returns an error saying
// which combinations exist when the sandbox cannot run the result.
func ResolveProfile(spark, format string) (Supported, error) {
	if spark != "" {
		if err := CheckLine(spark); err != nil {
			return Supported{}, err
		}
	}
	if format != "" {
		if err := CheckFormat(format); err != nil {
			return Supported{}, err
		}
	}
	all := SupportedProfiles()
	if spark == "" && format == "" {
		spark, format = defaultLine, defaultFormat
	}
	var match []Supported
	for _, s := range all {
		if (spark == "" || s.Spark == spark) && (format == "" || s.Format == format) {
			match = append(match, s)
		}
	}
	if len(match) > 0 {
		if format == "" {
			return match[0], nil // lakehouse formats come first
		}
		return match[len(match)-1], nil // newest line
	}
	return Supported{}, fmt.Errorf("the local sandbox cannot run %s; supported: %s%s",
		describe(spark, format), supportedList(all), unsupportedReason(spark, format))
}

func describe(spark, format string) string {
	switch {
	case spark == "":
		return "table format " + format
	case format == "":
		return "Spark " + spark
	}
	return Profile{Spark: spark, Format: format}.String()
}

func supportedList(all []Supported) string {
	s := make([]string, len(all))
	for i, p := range all {
		s[i] = p.Spark + "/" + p.Format
	}
	return strings.Join(s, ", ") + " (spark/table_format)"
}

// unsupportedReason explains the combinations people ask for most.
func unsupportedReason(spark, format string) string {
	switch {
	case format == FormatDelta && spark != "" && spark != "4.2":
		return ". Delta Lake 4.4.0 is built for Spark 4.0–4.2 only; no Delta release exists for Spark " + spark + " yet"
	case format == FormatIceberg:
		return ". Apache Iceberg 1.12.0 ships runtimes only up to Spark 4.1, older than any line the sandbox installs"
	}
	return ""
}

// PySpark is the pyspark release installed for p's line.
func (p Profile) PySpark() string {
	l, _ := LineOf(p.Spark)
	return l.PySpark
}
