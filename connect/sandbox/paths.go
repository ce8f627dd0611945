package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CacheDir returns the directory holding downloaded/installed artifacts:
// $SDP_MCP_CACHE if set, else "<user cache dir>/sdp-mcp". The path is
// absolute; it is not created.
func CacheDir() (string, error) {
	if d := os.Getenv(EnvCache); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cannot determine the cache directory (set %s): %w", EnvCache, err)
	}
	return filepath.Join(base, "sdp-mcp"), nil
}

// InstallDir returns where pyspark version is installed inside cacheDir.
func InstallDir(cacheDir, version string) string {
	return filepath.Join(cacheDir, "pyspark-"+version)
}

// DefaultWorkspace returns $SDP_MCP_WORKSPACE if set, else
// "$XDG_DATA_HOME/sdp-mcp", else "~/.local/share/sdp-mcp".
func DefaultWorkspace() (string, error) {
	if d := os.Getenv(EnvWorkspace); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sdp-mcp"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot determine the workspace directory (pass a workspace or set %s): %w", EnvWorkspace, err)
	}
	return filepath.Join(home, ".local", "share", "sdp-mcp"), nil
}

// ResolveWorkspace returns workspace made absolute, or [DefaultWorkspace]
// when workspace is empty.
func ResolveWorkspace(workspace string) (string, error) {
	if workspace == "" {
		return DefaultWorkspace()
	}
	return filepath.Abs(workspace)
}

// Paths are the files and directories of the sandbox of one workspace.
type Paths struct {
	Workspace       string // absolute workspace directory
	Dir             string // <workspace>/sandbox
	State           string // state.json
	Log             string // server.log
	Lock            string // lock
	Warehouse       string // warehouse/
	Metastore       string // metastore/ (Derby home)
	PipelineStorage string // pipeline-storage/
	Tmp             string // tmp/ (SPARK_LOCAL_DIRS: scratch space)
}

// WorkspacePaths resolves workspace (see [ResolveWorkspace]) and returns
// the sandbox paths inside it. Nothing is created.
func WorkspacePaths(workspace string) (Paths, error) {
	ws, err := ResolveWorkspace(workspace)
	if err != nil {
		return Paths{}, err
	}
	dir := filepath.Join(ws, "sandbox")
	return Paths{
		Workspace:       ws,
		Dir:             dir,
		State:           filepath.Join(dir, "state.json"),
		Log:             filepath.Join(dir, "server.log"),
		Lock:            filepath.Join(dir, "lock"),
		Warehouse:       filepath.Join(dir, "warehouse"),
		Metastore:       filepath.Join(dir, "metastore"),
		PipelineStorage: filepath.Join(dir, "pipeline-storage"),
		Tmp:             filepath.Join(dir, "tmp"),
	}, nil
}

// ForFormat returns p with the data directories (warehouse, metastore,
// pipeline storage) of a table format. Parquet keeps the original layout;
// every other format has its own "<workspace>/sandbox/<format>/" so one
// warehouse directory never mixes formats (Delta refuses to create a table
// over files it did not write) and switching formats loses nothing.
func (p Paths) ForFormat(format string) Paths {
	if format == "" || format == FormatParquet {
		return p
	}
	d := filepath.Join(p.Dir, format)
	p.Warehouse = filepath.Join(d, "warehouse")
	p.Metastore = filepath.Join(d, "metastore")
	p.PipelineStorage = filepath.Join(d, "pipeline-storage")
	return p
}

// create makes the sandbox directories.
func (p Paths) create() error {
	for _, d := range []string{p.Dir, p.Warehouse, p.Metastore, p.PipelineStorage, p.Tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating sandbox directory: %w", err)
		}
	}
	// The state file holds a secret; keep the directory private too.
	if err := os.Chmod(p.Dir, 0o700); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("securing %s: %w", p.Dir, err)
	}
	return nil
}
