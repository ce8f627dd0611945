package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/samples"
)

func newSandboxSamplesCmd(a *app) *cobra.Command {
	var (
		configPath string
		appendN    int64
		reset      bool
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "samples [--append N] [--reset]",
		Short: "Load the sample data set into the sandbox (idempotent), or append N events",
		Long: `Load the sample data set into spark_catalog.` + samples.DefaultSchema + ` of the local sandbox: a small retail
model (customers, products, orders, order_items, with some dirty rows), an append-only
events feed and a change feed of customer updates (customer_changes). Every row is
generated inside Spark, deterministically: nothing is downloaded.

Tables that exist are left alone (so appended events are kept); --reset recreates them.
--append N adds N events to the events feed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("append") && reset {
				return fmt.Errorf("--append and --reset cannot be used together: run them one after the other")
			}
			st, _, err := sourcesSettings(a, sourcesFlags{configPath: configPath})
			if err != nil {
				return err
			}
			return withSandbox(cmd.Context(), a, st, func(ctx context.Context, c *connect.Client) error {
				var reps []samples.TableReport
				if cmd.Flags().Changed("append") {
					r, err := samples.AppendEvents(ctx, c, samples.Options{}, appendN)
					if err != nil {
						return err
					}
					reps = []samples.TableReport{*r}
				} else if reps, err = samples.Load(ctx, c, samples.Options{Reset: reset}); err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, reps)
				}
				for _, r := range reps {
					what := "kept"
					switch {
					case cmd.Flags().Changed("append"):
						what = fmt.Sprintf("appended %d", appendN)
					case r.Created:
						what = "created"
					}
					fmt.Fprintf(a.stdout, "%-40s %6d rows  %-12s checksum %s\n", r.Table, r.Rows, what, r.Checksum)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "YAML configuration file (for the workspace)")
	f.Int64Var(&appendN, "append", 0, "append N events to the events feed instead of loading")
	f.BoolVar(&reset, "reset", false, "drop and recreate the sample tables (appended events are lost)")
	f.BoolVar(&asJSON, "json", false, "print the tables as JSON")
	return cmd
}
