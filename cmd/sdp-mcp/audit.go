package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
)

func newAuditCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read and verify the audit log of tool calls",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAuditTailCmd(a), newAuditVerifyCmd(a))
	return cmd
}

func newAuditTailCmd(a *app) *cobra.Command {
	var (
		n          int
		configPath string
	)
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print the last records of the audit log (JSON lines)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 {
				return fmt.Errorf("invalid -n %d: want a positive number of records", n)
			}
			path, err := auditPath(a, configPath, "", true)
			if err != nil {
				return err
			}
			return audit.Tail(path, n, a.stdout)
		},
	}
	tail.Flags().IntVarP(&n, "lines", "n", 20, "number of records")
	tail.Flags().StringVar(&configPath, "config", "", "YAML configuration file (for the audit log path)")
	return tail
}

func newAuditVerifyCmd(a *app) *cobra.Command {
	var configPath, path string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain, rotated files included",
		Long: `Check the audit log and its rotated files (audit.000000000001.jsonl, … next to it):
every line is a whole JSON record, seq runs from 1 without a gap, and each record's prev is the
SHA-256 of the record before it. The first missing, altered, reordered or torn record is named
with its file and line, and the command exits with status 1.

On success it prints the last seq and hash: kept elsewhere, they also reveal later edits of the
last records or a truncated log, which the chain alone cannot.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := auditPath(a, configPath, path, false)
			if err != nil {
				return err
			}
			rep, err := audit.Verify(p)
			var prob *audit.Problem
			if errors.As(err, &prob) {
				return fmt.Errorf("the audit log does not verify: %w", err)
			}
			if err != nil {
				return err
			}
			w := a.stdout
			fmt.Fprintf(w, "audit log verified: %d record(s), seq 1 to %d, in %d file(s)\n", rep.Records, rep.LastSeq, len(rep.Files))
			for _, f := range rep.Files {
				fmt.Fprintf(w, "  %s\n", f)
			}
			fmt.Fprintf(w, "last record: seq %d, sha256 %s\n", rep.LastSeq, rep.Head)
			if rep.Unchained > 0 {
				fmt.Fprintf(w, "%d record(s) before the chain (written by an older version) are not covered\n", rep.Unchained)
			}
			for _, r := range rep.Repairs {
				fmt.Fprintf(w, "torn record cut at startup: %d byte(s), recorded at %s line %d (seq %d)\n", r.CutBytes, filepath.Base(r.File), r.Line, r.Seq)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&path, "path", "", "the audit log (default: audit.path of --config, else <workspace>/audit/audit.jsonl)")
	verify.Flags().StringVar(&configPath, "config", "", "YAML configuration file (for the audit log path)")
	return verify
}

// auditPath is the audit log to read: path if given, else the configured
// one.
func auditPath(a *app, configPath, path string, mustExist bool) (string, error) {
	if path != "" {
		return path, nil
	}
	st, err := loadSettings(a, configPath, config.Flags{}, false)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(st.Audit.Path); os.IsNotExist(err) && mustExist {
		return "", fmt.Errorf("no audit log yet at %s: nothing has been served with this workspace", st.Audit.Path)
	}
	return st.Audit.Path, nil
}
