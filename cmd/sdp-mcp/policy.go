package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/policy"
)

func newPolicyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show or check the guardrail policy",
		Long: `The guardrail policy says what an agent may read (sources per environment), which
functions it may call, the limits of every call, which tools exist, which datasets are never
fully refreshed, and CEL rules run on every call. Without a policy file the built-in default
applies; "policy show" prints it, documented key by key, as a starting point.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the built-in default policy (YAML, with comments)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := a.stdout.Write(policy.DefaultYAML)
			return err
		},
	}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a policy file and print its SHA-256 (the id audit records carry)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err != nil {
				return fmt.Errorf("policy file: %w", err)
			}
			p, err := policy.Load(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: ok\nsha256: %s\nrules: %d\n", args[0], p.SHA256(), len(p.Rules))
			return nil
		},
	}
	cmd.AddCommand(show, check)
	return cmd
}
