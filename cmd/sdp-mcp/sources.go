package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/sources"
)

// sourcesFlags are the flags every sources command takes.
type sourcesFlags struct {
	configPath, policyPath string
	asJSON                 bool
}

func (f *sourcesFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configPath, "config", "", "YAML configuration file (for the workspace and the policy)")
	cmd.Flags().StringVar(&f.policyPath, "policy", "", "guardrail policy file (default: the configuration's, else the built-in policy)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the result as JSON")
}

func newSourcesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sources",
		Short: "Register files as source tables in the local sandbox",
		Long: `Register files (CSV, JSON, Parquet) as source tables agents can read in the local
sandbox, list the source tables the policy allows, and remove registered ones.

A name is table, schema.table or catalog.schema.table; a bare table goes into
spark_catalog.` + sources.DefaultSchema + `. The name must be allowed by the policy's sandbox sources
(environments.sandbox.sources), so that agents can read it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSourcesAddCmd(a), newSourcesListCmd(a), newSourcesRemoveCmd(a))
	return cmd
}

func newSourcesAddCmd(a *app) *cobra.Command {
	var (
		f       sourcesFlags
		format  string
		options []string
	)
	cmd := &cobra.Command{
		Use:   "add NAME PATH|GLOB --format csv|json|parquet [--option k=v ...]",
		Short: "Register files as a source table (schema inferred and shown)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := sources.ParseName(args[0])
			if err != nil {
				return err
			}
			spec := sources.Spec{Name: n, Path: args[1], Format: strings.ToLower(format), Options: map[string]string{}}
			for _, o := range options {
				k, v, ok := strings.Cut(o, "=")
				if !ok || k == "" {
					return fmt.Errorf("invalid --option %q: want key=value, e.g. --option delimiter=';'", o)
				}
				spec.Options[k] = v
			}
			st, globs, err := sourcesSettings(a, f)
			if err != nil {
				return err
			}
			// Check before starting Spark: a bad name or path costs nothing.
			if _, _, err := spec.Check(globs); err != nil {
				return err
			}
			return withSandbox(cmd.Context(), a, st, func(ctx context.Context, c *connect.Client) error {
				t, err := sources.Register(ctx, c, spec, globs)
				if err != nil {
					return err
				}
				if f.asJSON {
					return writeJSON(a.stdout, t)
				}
				fmt.Fprintf(a.stdout, "registered %s (%s, %d file(s) at %s)\n", t.Name, t.Format, t.Files, t.Location)
				return writeColumns(a.stdout, t.Columns)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "", "file format: csv, json or parquet (required)")
	cmd.Flags().StringArrayVar(&options, "option", nil, "a reader option key=value (repeatable), e.g. delimiter=; or multiLine=true")
	_ = cmd.MarkFlagRequired("format")
	return cmd
}

func newSourcesListCmd(a *app) *cobra.Command {
	var f sourcesFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the source tables the policy lets agents read in the sandbox",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, globs, err := sourcesSettings(a, f)
			if err != nil {
				return err
			}
			return withSandbox(cmd.Context(), a, st, func(ctx context.Context, c *connect.Client) error {
				ts, err := sources.List(ctx, c, globs)
				if err != nil {
					return err
				}
				if f.asJSON {
					return writeJSON(a.stdout, ts)
				}
				if len(ts) == 0 {
					_, err := fmt.Fprintf(a.stdout, "no source tables under %s: load the samples (sdp-mcp sandbox samples) or register files (sdp-mcp sources add)\n", strings.Join(globs, ", "))
					return err
				}
				for _, t := range ts {
					where := strings.ToLower(t.Type)
					if t.Type == "EXTERNAL" {
						where = "files at " + t.Location
					}
					fmt.Fprintf(a.stdout, "%-45s %-8s %2d columns  %s\n", t.Name, t.Format, len(t.Columns), where)
				}
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func newSourcesRemoveCmd(a *app) *cobra.Command {
	var f sourcesFlags
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Unregister a source table registered from files (the files stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := sources.ParseName(args[0])
			if err != nil {
				return err
			}
			st, _, err := sourcesSettings(a, f)
			if err != nil {
				return err
			}
			return withSandbox(cmd.Context(), a, st, func(ctx context.Context, c *connect.Client) error {
				if err := sources.Remove(ctx, c, n); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "removed %s (its files are untouched)\n", n)
				return err
			})
		},
	}
	f.register(cmd)
	return cmd
}

// sourcesSettings reads the configuration and the policy, and returns the
// policy's sandbox source globs. Sources are registered in the local
// sandbox only.
func sourcesSettings(a *app, f sourcesFlags) (*config.Config, []string, error) {
	fl := config.Flags{}
	if f.policyPath != "" {
		fl.Policy = &f.policyPath
	}
	st, _, err := loadServeSettings(a, f.configPath, fl)
	if err != nil {
		return nil, nil, err
	}
	if !st.Environments.Sandbox.Local() {
		return nil, nil, fmt.Errorf("the configuration's sandbox is a remote server (environments.sandbox.url): sdp-mcp sources registers files in the local sandbox only; create the tables on that server instead")
	}
	return st, st.Environments.Sandbox.Sources, nil
}

// withSandbox starts (or reuses) the workspace's local sandbox, dials it
// and runs fn with a client that is closed afterwards.
func withSandbox(ctx context.Context, a *app, st *config.Config, fn func(context.Context, *connect.Client) error) error {
	inst, err := sandbox.Start(ctx, sandbox.Options{Workspace: st.Workspace, Logger: a.log, Install: a.installOptions(ctx),
		Profile: st.Environments.Sandbox.Profile()})
	if err != nil {
		return err
	}
	c, err := connect.Dial(ctx, inst.URL())
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}

// writeColumns prints a schema, one column a line.
func writeColumns(w io.Writer, cols []connect.Column) error {
	width := 0
	for _, c := range cols {
		width = max(width, len(c.Name))
	}
	for _, c := range cols {
		null := ""
		if !c.Nullable {
			null = " not null"
		}
		if _, err := fmt.Fprintf(w, "  %-*s  %s%s\n", width, c.Name, c.Type, null); err != nil {
			return err
		}
	}
	return nil
}
