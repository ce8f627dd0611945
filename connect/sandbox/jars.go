package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// JarDir is where the pinned connector jars are kept inside cacheDir:
// <cacheDir>/jars/<group>/<artifact>-<version>.jar.
func JarDir(cacheDir string) string { return filepath.Join(cacheDir, "jars") }

func jarPath(cacheDir string, j Jar) string {
	return filepath.Join(JarDir(cacheDir), j.Group, j.File())
}

// ensureJars returns the local paths of c's jars, downloading the missing
// ones from Maven Central with the Ivy resolver bundled in the Spark install
// and checking every file against its pinned SHA-256. Jars already in the
// cache are only checked, so a filled cache works offline.
func ensureJars(ctx context.Context, cacheDir string, in *Installation, c *Connector, log *slog.Logger) ([]string, error) {
	paths, missing := checkJars(cacheDir, c, log)
	if len(missing) == 0 {
		return paths, nil
	}
	if err := os.MkdirAll(JarDir(cacheDir), 0o755); err != nil {
		return nil, fmt.Errorf("creating the jar cache: %w", err)
	}
	lock, err := lockFile(ctx, filepath.Join(JarDir(cacheDir), "lock"), func() {
		log.Info("another process is downloading connector jars; waiting for it")
	})
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	if paths, missing = checkJars(cacheDir, c, log); len(missing) == 0 {
		return paths, nil
	}

	start := time.Now()
	log.Info("downloading connector jars (one-time)", "connector", c.Name, "jars", len(missing))
	tmp, err := os.MkdirTemp(JarDir(cacheDir), "resolve-*")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory for jars: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := ivyRetrieve(ctx, cacheDir, in, missing, tmp); err != nil {
		return nil, fmt.Errorf("downloading %s jars: %w", c.Name, err)
	}
	for _, j := range missing {
		got := filepath.Join(tmp, j.Group, j.File())
		sum, err := fileSHA256(got)
		if err != nil {
			return nil, fmt.Errorf("downloading %s: the resolver did not deliver it: %w", j.Coordinates(), err)
		}
		if sum != j.SHA256 {
			return nil, fmt.Errorf("downloaded %s has SHA-256 %s, pinned %s; refusing to use it (a changed or tampered artifact)", j.Coordinates(), sum, j.SHA256)
		}
		dst := jarPath(cacheDir, j)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(got, dst); err != nil {
			return nil, fmt.Errorf("moving %s into the cache: %w", j.File(), err)
		}
	}
	log.Info("downloaded connector jars", "connector", c.Name, "took", time.Since(start).Round(100*time.Millisecond))
	paths, missing = checkJars(cacheDir, c, log)
	if len(missing) > 0 {
		return nil, fmt.Errorf("connector jar %s is still missing after download", missing[0].Coordinates())
	}
	return paths, nil
}

// checkJars returns the cached paths of c's jars and the jars that are
// missing or do not match their checksum (those are removed).
func checkJars(cacheDir string, c *Connector, log *slog.Logger) (paths []string, missing []Jar) {
	for _, j := range c.Jars {
		p := jarPath(cacheDir, j)
		sum, err := fileSHA256(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			missing = append(missing, j)
		case err != nil || sum != j.SHA256:
			log.Warn("removing a cached jar that does not match its pinned checksum", "jar", p)
			_ = os.Remove(p)
			missing = append(missing, j)
		default:
			paths = append(paths, p)
		}
	}
	return paths, missing
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ivyRetrieve fetches exactly jars (no transitive dependencies) into
// <dir>/<group>/<artifact>-<version>.jar with the Ivy command line bundled
// in Spark's jars, whose default settings resolve from Maven Central. Its
// own download cache lives in <cacheDir>/ivy.
func ivyRetrieve(ctx context.Context, cacheDir string, in *Installation, jars []Jar, dir string) error {
	ivyJars, _ := filepath.Glob(filepath.Join(in.SparkHome, "jars", "ivy-*.jar"))
	if len(ivyJars) == 0 {
		return fmt.Errorf("no ivy jar in %s", filepath.Join(in.SparkHome, "jars"))
	}
	if in.Java == nil {
		return errors.New("no Java runtime to run the resolver")
	}
	var b strings.Builder
	b.WriteString(`<ivy-module version="2.0"><info organisation="sdp-mcp" module="connector-jars"/><dependencies>`)
	for _, j := range jars {
		fmt.Fprintf(&b, `<dependency org="%s" name="%s" rev="%s" transitive="false"/>`,
			html.EscapeString(j.Group), html.EscapeString(j.Artifact), html.EscapeString(j.Version))
	}
	b.WriteString(`</dependencies></ivy-module>`)
	ivyFile := filepath.Join(dir, "ivy.xml")
	if err := os.WriteFile(ivyFile, []byte(b.String()), 0o644); err != nil {
		return err
	}
	out := &tailWriter{max: 16 << 10}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	err := runLogged(ctx, out, in.Java.Path, "-jar", ivyJars[0],
		"-ivy", ivyFile, "-confs", "default", "-types", "jar", "-cache", filepath.Join(cacheDir, "ivy"),
		"-retrieve", filepath.Join(dir, "[organisation]", "[artifact]-[revision](-[classifier]).[ext]"))
	if err != nil {
		return fmt.Errorf("%w (is the network reachable? once downloaded, jars are reused offline)\n%s", err, indent(lastLines(out.String(), 15)))
	}
	return nil
}
