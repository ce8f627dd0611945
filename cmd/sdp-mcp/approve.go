package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/approval"
	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/auth"
	"github.com/sdp-mcp/sdp-mcp/config"
)

// openApprovals opens the workspace's approval store, recording every
// change in the audit log.
func openApprovals(a *app, configPath string) (*approval.Store, func(), error) {
	st, err := loadSettings(a, configPath, config.Flags{}, false)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(st.ApprovalsDir()); os.IsNotExist(err) {
		return nil, nil, fmt.Errorf("no approvals at %s: no promotion has asked for one with this workspace (pass --workspace or --config as the server has them)", st.ApprovalsDir())
	}
	log, err := audit.Open(st.Audit.Path)
	if err != nil {
		return nil, nil, err
	}
	s, err := approval.Open(st.ApprovalsDir(), approval.Options{TTL: st.ApprovalTTL(), Recorder: approval.AuditRecorder{Log: log, Transport: "cli"}})
	if err != nil {
		log.Close()
		return nil, nil, err
	}
	return s, func() { log.Close() }, nil
}

func newApproveCmds(a *app) []*cobra.Command {
	var configPath, by string
	decide := func(verb string, fn func(*approval.Store, context.Context, string, string, string) (*approval.Request, error)) *cobra.Command {
		c := &cobra.Command{
			Use:   verb + " ID",
			Short: strings.ToUpper(verb[:1]) + verb[1:] + " a pending promotion (review it first with: sdp-mcp approvals show ID)",
			Long: `Decides a pending approval request of a promotion. Only a person at the server's machine
(or the web console) can decide: no tool call can. An approval is good for exactly one
promotion of that pipeline hash, target, refresh options and principal, until it expires.`,
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, done, err := openApprovals(a, configPath)
				if err != nil {
					return err
				}
				defer done()
				who := by
				if who == "" {
					who = auth.OSUser().Name
				}
				r, err := fn(s, cmd.Context(), args[0], who, "cli")
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s %s by %s\n%s\n", r.ID, r.Status, who, r.Describe())
				return nil
			},
		}
		c.Flags().StringVar(&configPath, "config", "", "YAML configuration file (for the workspace and audit log)")
		c.Flags().StringVar(&by, "by", "", "who decides (default: the OS user)")
		return c
	}
	approve := decide("approve", (*approval.Store).Approve)
	deny := decide("deny", (*approval.Store).Deny)

	var asJSON bool
	list := &cobra.Command{
		Use:   "approvals",
		Short: "List the promotion approval requests, or show one (approvals show ID)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, done, err := openApprovals(a, configPath)
			if err != nil {
				return err
			}
			defer done()
			rs, err := s.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rs)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tPIPELINE\tTARGET\tPRINCIPAL\tHASH\tCREATED\tEXPIRES")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, r.Pipeline, r.Target, r.Principal,
					r.PipelineHash[:min(12, len(r.PipelineHash))], r.CreatedAt.Local().Format(time.DateTime), r.ExpiresAt.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	list.PersistentFlags().StringVar(&configPath, "config", "", "YAML configuration file (for the workspace and audit log)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show what a promotion approval request would run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, done, err := openApprovals(a, configPath)
			if err != nil {
				return err
			}
			defer done()
			r, err := s.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %s\n%s\n", r.ID, r.Status, r.Describe())
			return nil
		},
	}
	list.AddCommand(show)
	return []*cobra.Command{approve, deny, list}
}
