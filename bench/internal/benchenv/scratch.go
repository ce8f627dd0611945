package benchenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// Scratch is what one benchmark run creates on the sandbox: a folder for
// projects and storage under the workspace and the schemas it made through
// its admin session. Close removes both.
type Scratch struct {
	// Admin is a session for the run's set-up statements.
	Admin *connect.Client
	// Dir is the run's own folder, <workspace>/<command>/run-*.
	Dir string

	log     *slog.Logger
	schemas []string // to drop
}

// NewScratch opens an admin session on the sandbox and makes the run's
// folder under <workspace>/<command>.
func (s *Sandbox) NewScratch(ctx context.Context, command string) (*Scratch, error) {
	admin, err := connect.Dial(ctx, s.URL())
	if err != nil {
		return nil, err
	}
	sc := &Scratch{Admin: admin, log: s.log}
	parent := filepath.Join(s.Workspace, command)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		sc.Close(time.Minute)
		return nil, err
	}
	if sc.Dir, err = os.MkdirTemp(parent, "run-"); err != nil {
		sc.Close(time.Minute)
		return nil, err
	}
	return sc, nil
}

// Exec runs statements on the admin session, one after the other.
func (sc *Scratch) Exec(ctx context.Context, stmts ...string) error {
	for _, s := range stmts {
		if _, err := sc.Admin.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			return fmt.Errorf("%.80s…: %w", s, err)
		}
	}
	return nil
}

// CreateSchema creates a schema that Close drops.
func (sc *Scratch) CreateSchema(ctx context.Context, name string) error {
	if err := sc.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return err
	}
	sc.schemas = append(sc.schemas, name)
	return nil
}

// StorageURI is the file:// URI of name inside the run's folder.
func (sc *Scratch) StorageURI(name string) string {
	return "file://" + filepath.ToSlash(filepath.Join(sc.Dir, name))
}

// Close drops the run's schemas (within timeout), closes the admin session
// and removes the run's folder.
func (sc *Scratch) Close(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, s := range sc.schemas {
		if _, err := sc.Admin.Collect(ctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+s+" CASCADE"), connect.ExecOptions{}); err != nil {
			sc.log.Warn("dropping a benchmark schema", "schema", s, "err", err)
		}
	}
	_ = sc.Admin.Close()
	if sc.Dir != "" {
		_ = os.RemoveAll(sc.Dir)
	}
}
