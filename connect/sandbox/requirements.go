package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Minimum versions of the tools the sandbox needs.
const (
	MinJavaMajor   = 17
	MinPythonMajor = 3
	MinPythonMinor = 10
)

// Environment variables understood by this package.
const (
	EnvCache     = "SDP_MCP_CACHE"     // overrides the cache directory
	EnvWorkspace = "SDP_MCP_WORKSPACE" // default workspace
	EnvPython    = "SDP_MCP_PYTHON"    // python interpreter used to create the venv
)

// Java describes the Java runtime used to run Spark.
type Java struct {
	Path    string // java executable
	Home    string // JAVA_HOME if it was used to find Path, else ""
	Version string // as printed by "java -version", e.g. "17.0.15" or "1.8.0_292"
	Major   int    // feature release, e.g. 8, 11, 17, 21
}

// Python describes the Python interpreter used to create the virtual env.
type Python struct {
	Path  string
	Major int
	Minor int
	Patch int
}

func (p Python) String() string { return fmt.Sprintf("%d.%d.%d", p.Major, p.Minor, p.Patch) }

var javaVersionRE = regexp.MustCompile(`\bversion "([^"]+)"`)

// ParseJavaVersion extracts the version string and the major (feature)
// version from the output of "java -version". It understands the legacy
// "1.8.0_292" scheme and the modern "11.0.2", "17.0.15", "21", "25-ea"
// schemes.
func ParseJavaVersion(output string) (version string, major int, err error) {
	m := javaVersionRE.FindStringSubmatch(output)
	if m == nil {
		return "", 0, fmt.Errorf("cannot find a version in java -version output %q", firstLine(output))
	}
	version = m[1]
	s := version
	if strings.HasPrefix(s, "1.") {
		s = s[2:]
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return version, 0, fmt.Errorf("cannot parse java version %q", version)
	}
	major, err = strconv.Atoi(s[:end])
	if err != nil {
		return version, 0, fmt.Errorf("cannot parse java version %q: %w", version, err)
	}
	return version, major, nil
}

var pythonVersionRE = regexp.MustCompile(`(\d+)\.(\d+)(?:\.(\d+))?`)

// ParsePythonVersion parses "Python 3.11.7", "3.12.0rc1" or "3.10" into its
// numeric parts (patch is 0 when absent).
func ParsePythonVersion(output string) (major, minor, patch int, err error) {
	m := pythonVersionRE.FindStringSubmatch(output)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("cannot find a version in python output %q", firstLine(output))
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		patch, _ = strconv.Atoi(m[3])
	}
	return major, minor, patch, nil
}

// pythonSupported reports whether major.minor is new enough.
func pythonSupported(major, minor int) bool {
	return major > MinPythonMajor || (major == MinPythonMajor && minor >= MinPythonMinor)
}

// FindJava locates the Java runtime (JAVA_HOME first, else "java" on PATH)
// and checks that it is at least [MinJavaMajor].
func FindJava(ctx context.Context) (*Java, error) {
	j := &Java{}
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("JAVA_HOME is set to %s but %s does not exist; point JAVA_HOME at a Java %d+ installation or unset it", home, p, MinJavaMajor)
		}
		j.Path, j.Home = p, home
	} else {
		p, err := exec.LookPath("java")
		if err != nil {
			return nil, fmt.Errorf("Java %d or newer is required to run the local Spark sandbox, but no java was found (JAVA_HOME is unset and java is not on PATH). %s", MinJavaMajor, javaHint)
		}
		j.Path = p
	}
	out, err := runQuiet(ctx, 30*time.Second, j.Path, "-version")
	if err != nil {
		return nil, fmt.Errorf("running %s -version: %w", j.Path, err)
	}
	j.Version, j.Major, err = ParseJavaVersion(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", j.Path, err)
	}
	if err := checkJavaMajor(j); err != nil {
		return nil, err
	}
	return j, nil
}

const javaHint = "Install OpenJDK 17 (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17) or point JAVA_HOME at one."

func checkJavaMajor(j *Java) error {
	if j.Major < MinJavaMajor {
		return fmt.Errorf("Java %d or newer is required to run the local Spark sandbox; found Java %d (%s). %s", MinJavaMajor, j.Major, j.Path, javaHint)
	}
	return nil
}

// FindPython locates the interpreter used to create the virtual env
// ($SDP_MCP_PYTHON, else python3 on PATH) and checks it is at least 3.10.
func FindPython(ctx context.Context, override string) (*Python, error) {
	name := override
	if name == "" {
		name = os.Getenv(EnvPython)
	}
	if name == "" {
		name = "python3"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("Python %d.%d or newer is required to install pyspark for the local Spark sandbox, but %q was not found. %s", MinPythonMajor, MinPythonMinor, name, pythonHint)
	}
	out, err := runQuiet(ctx, 30*time.Second, p, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])")
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", p, err)
	}
	py := &Python{Path: p}
	py.Major, py.Minor, py.Patch, err = ParsePythonVersion(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if !pythonSupported(py.Major, py.Minor) {
		return nil, fmt.Errorf("Python %d.%d or newer is required to install pyspark for the local Spark sandbox; found Python %s (%s). %s", MinPythonMajor, MinPythonMinor, py, p, pythonHint)
	}
	return py, nil
}

const pythonHint = "Install Python 3.10+ with venv support (Debian/Ubuntu: apt-get install python3 python3-venv) or set " + EnvPython + " to a suitable interpreter."

// runQuiet runs a short command and returns its combined output.
func runQuiet(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		if s := strings.TrimSpace(buf.String()); s != "" {
			return buf.String(), fmt.Errorf("%w: %s", err, lastLines(s, 5))
		}
		return buf.String(), err
	}
	return buf.String(), nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lastLines returns the last n lines of s joined by newlines.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
