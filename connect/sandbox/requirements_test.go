package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseJavaVersion(t *testing.T) {
	tests := []struct {
		name, out, version string
		major              int
	}{
		{"oracle 8", "java version \"1.8.0_292\"\nJava(TM) SE Runtime Environment (build 1.8.0_292-b10)\nJava HotSpot(TM) 64-Bit Server VM (build 25.292-b10, mixed mode)\n", "1.8.0_292", 8},
		{"openjdk 8", "openjdk version \"1.8.0_412\"\nOpenJDK Runtime Environment (Temurin)(build 1.8.0_412-b08)\n", "1.8.0_412", 8},
		{"openjdk 8 internal", "openjdk version \"1.8.0_412-internal\"\n", "1.8.0_412-internal", 8},
		{"openjdk 11", "openjdk version \"11.0.2\" 2019-01-15\nOpenJDK Runtime Environment 18.9 (build 11.0.2+9)\nOpenJDK 64-Bit Server VM 18.9 (build 11.0.2+9, mixed mode)\n", "11.0.2", 11},
		{"openjdk 17", "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)\nOpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)\n", "17.0.15", 17},
		{"oracle 21 LTS", "java version \"21.0.5\" 2024-10-15 LTS\nJava(TM) SE Runtime Environment (build 21.0.5+9-LTS-239)\n", "21.0.5", 21},
		{"openjdk 21 GA", "openjdk version \"21\" 2023-09-19\nOpenJDK Runtime Environment (build 21+35-2513)\n", "21", 21},
		{"openjdk 25", "openjdk version \"25\" 2025-09-16\nOpenJDK Runtime Environment (build 25+36-3489)\n", "25", 25},
		{"openjdk 25 ea", "openjdk version \"25-ea\" 2025-06-05\nOpenJDK Runtime Environment (build 25-ea+26-3116)\n", "25-ea", 25},
		{"tool options banner", "Picked up JAVA_TOOL_OPTIONS: -Dfile.encoding=UTF8\nopenjdk version \"17.0.2\" 2022-01-18\n", "17.0.2", 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, major, err := ParseJavaVersion(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if v != tt.version || major != tt.major {
				t.Errorf("got (%q, %d), want (%q, %d)", v, major, tt.version, tt.major)
			}
		})
	}
	for _, bad := range []string{"", "bash: java: command not found", `openjdk version "abc"`} {
		if _, _, err := ParseJavaVersion(bad); err == nil {
			t.Errorf("ParseJavaVersion(%q): want error", bad)
		}
	}
}

func TestJavaTooOldMessage(t *testing.T) {
	err := checkJavaMajor(&Java{Path: "/usr/bin/java", Major: 11, Version: "11.0.2"})
	if err == nil {
		t.Fatal("want error for Java 11")
	}
	for _, want := range []string{"Java 17 or newer is required", "found Java 11 (/usr/bin/java)", "openjdk-17-jre-headless", "JAVA_HOME"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	for _, major := range []int{17, 21, 25} {
		if err := checkJavaMajor(&Java{Major: major}); err != nil {
			t.Errorf("Java %d rejected: %v", major, err)
		}
	}
}

func TestParsePythonVersion(t *testing.T) {
	tests := []struct {
		in                  string
		major, minor, patch int
		ok                  bool
	}{
		{"Python 3.11.7\n", 3, 11, 7, true},
		{"3.12.0rc1", 3, 12, 0, true},
		{"3.10", 3, 10, 0, true},
		{"3.13.1", 3, 13, 1, true},
		{"Python 3.9.18", 3, 9, 18, false},
		{"Python 2.7.18", 2, 7, 18, false},
		{"4.0.0", 4, 0, 0, true},
	}
	for _, tt := range tests {
		major, minor, patch, err := ParsePythonVersion(tt.in)
		if err != nil {
			t.Errorf("ParsePythonVersion(%q): %v", tt.in, err)
			continue
		}
		if major != tt.major || minor != tt.minor || patch != tt.patch {
			t.Errorf("ParsePythonVersion(%q) = %d.%d.%d", tt.in, major, minor, patch)
		}
		if got := pythonSupported(major, minor); got != tt.ok {
			t.Errorf("pythonSupported(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
	if _, _, _, err := ParsePythonVersion("no version here"); err == nil {
		t.Error("want error")
	}
}

// writeScript writes an executable shell script.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFindPython(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "python-old")
	writeScript(t, old, "echo 3.9.18\n")
	good := filepath.Join(dir, "python-good")
	writeScript(t, good, "echo 3.12.4\n")

	t.Setenv(EnvPython, old)
	_, err := FindPython(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "found Python 3.9.18") || !strings.Contains(err.Error(), "3.10 or newer") {
		t.Fatalf("old python: got %v", err)
	}
	py, err := FindPython(context.Background(), good) // explicit beats the environment
	if err != nil {
		t.Fatal(err)
	}
	if py.String() != "3.12.4" || py.Path != good {
		t.Errorf("got %+v", py)
	}
	t.Setenv(EnvPython, filepath.Join(dir, "missing"))
	if _, err := FindPython(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "was not found") {
		t.Errorf("missing python: got %v", err)
	}
}

func TestFindJava(t *testing.T) {
	home := t.TempDir()
	t.Setenv("JAVA_HOME", home)
	writeScript(t, filepath.Join(home, "bin", "java"), `echo 'openjdk version "11.0.24" 2024-07-16' >&2`+"\n")
	_, err := FindJava(context.Background())
	if err == nil || !strings.Contains(err.Error(), "found Java 11 ("+filepath.Join(home, "bin", "java")+")") {
		t.Fatalf("Java 11: got %v", err)
	}
	writeScript(t, filepath.Join(home, "bin", "java"), `echo 'openjdk version "21.0.4" 2024-07-16' >&2`+"\n")
	j, err := FindJava(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if j.Major != 21 || j.Home != home {
		t.Errorf("got %+v", j)
	}
	t.Setenv("JAVA_HOME", filepath.Join(home, "nope"))
	if _, err := FindJava(context.Background()); err == nil || !strings.Contains(err.Error(), "JAVA_HOME") {
		t.Errorf("bad JAVA_HOME: got %v", err)
	}
	t.Setenv("JAVA_HOME", "")
	t.Setenv("PATH", t.TempDir())
	if _, err := FindJava(context.Background()); err == nil || !strings.Contains(err.Error(), "no java was found") {
		t.Errorf("no java: got %v", err)
	}
}
