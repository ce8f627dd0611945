package connect

import (
	"context"
	"fmt"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// ExplainMode selects the detail of Explain.
type ExplainMode int32

// Explain modes, as Spark's EXPLAIN statement names them.
const (
	ExplainSimple    = ExplainMode(sparkpb.AnalyzePlanRequest_Explain_EXPLAIN_MODE_SIMPLE)
	ExplainExtended  = ExplainMode(sparkpb.AnalyzePlanRequest_Explain_EXPLAIN_MODE_EXTENDED)
	ExplainCodegen   = ExplainMode(sparkpb.AnalyzePlanRequest_Explain_EXPLAIN_MODE_CODEGEN)
	ExplainCost      = ExplainMode(sparkpb.AnalyzePlanRequest_Explain_EXPLAIN_MODE_COST)
	ExplainFormatted = ExplainMode(sparkpb.AnalyzePlanRequest_Explain_EXPLAIN_MODE_FORMATTED)
)

// analyze sends one AnalyzePlan request, retrying transient unavailability
// and checking the server-side session id of the answer.
func (c *Client) analyze(ctx context.Context, req *sparkpb.AnalyzePlanRequest) (*sparkpb.AnalyzePlanResponse, error) {
	req.SessionId = c.sessionID
	req.UserContext = c.user
	req.ClientType = &c.clientType
	req.ClientObservedServerSideSessionId = c.observed()
	var resp *sparkpb.AnalyzePlanResponse
	err := c.retry.run(ctx, c.log, "AnalyzePlan", func(ctx context.Context) (err error) {
		resp, err = c.rpc.AnalyzePlan(ctx, req)
		return err
	})
	if err != nil {
		return nil, c.enrich(ctx, c.mapError(err))
	}
	if err := c.observe(resp.GetServerSideSessionId()); err != nil {
		return nil, err
	}
	return resp, nil
}

// SparkVersion returns the server's Spark version, e.g. "4.1.0".
func (c *Client) SparkVersion(ctx context.Context) (string, error) {
	resp, err := c.analyze(ctx, &sparkpb.AnalyzePlanRequest{
		Analyze: &sparkpb.AnalyzePlanRequest_SparkVersion_{SparkVersion: &sparkpb.AnalyzePlanRequest_SparkVersion{}},
	})
	if err != nil {
		return "", err
	}
	return resp.GetSparkVersion().GetVersion(), nil
}

// Schema resolves p on the server and returns its columns. Spark 4.1 and
// later analyze without executing, so a command plan is not run.
func (c *Client) Schema(ctx context.Context, p Plan) ([]Column, error) {
	dt, err := c.schema(ctx, p)
	if err != nil {
		return nil, err
	}
	return columnsFromProto(dt), nil
}

// schema asks the server for the schema of p.
func (c *Client) schema(ctx context.Context, p Plan) (*sparkpb.DataType, error) {
	if p.IsZero() {
		return nil, errZeroPlan
	}
	resp, err := c.analyze(ctx, &sparkpb.AnalyzePlanRequest{
		Analyze: &sparkpb.AnalyzePlanRequest_Schema_{Schema: &sparkpb.AnalyzePlanRequest_Schema{Plan: p.proto()}},
	})
	if err != nil {
		return nil, err
	}
	return resp.GetSchema().GetSchema(), nil
}

// StructFields resolves p, whose columns must all be structs, and returns
// the fields of each as columns (with their own nullability, which the
// type name of the struct does not carry). It lets one analysis answer for
// several queries side by side, each packed into one struct column.
func (c *Client) StructFields(ctx context.Context, p Plan) ([][]Column, error) {
	dt, err := c.schema(ctx, p)
	if err != nil {
		return nil, err
	}
	fields := dt.GetStruct().GetFields()
	out := make([][]Column, len(fields))
	for i, f := range fields {
		if f.GetDataType().GetStruct() == nil {
			return nil, fmt.Errorf("column %d (%s) of the plan is a %s, not a struct", i, f.GetName(), typeName(f.GetDataType()))
		}
		out[i] = columnsFromProto(f.GetDataType())
	}
	return out, nil
}

// Explain returns the plan text of p in the given mode.
func (c *Client) Explain(ctx context.Context, p Plan, mode ExplainMode) (string, error) {
	if p.IsZero() {
		return "", errZeroPlan
	}
	if mode < ExplainSimple || mode > ExplainFormatted {
		return "", fmt.Errorf("explain mode %d is not one of simple, extended, codegen, cost, formatted", mode)
	}
	resp, err := c.analyze(ctx, &sparkpb.AnalyzePlanRequest{
		Analyze: &sparkpb.AnalyzePlanRequest_Explain_{Explain: &sparkpb.AnalyzePlanRequest_Explain{
			Plan: p.proto(), ExplainMode: sparkpb.AnalyzePlanRequest_Explain_ExplainMode(mode),
		}},
	})
	if err != nil {
		return "", err
	}
	return resp.GetExplain().GetExplainString(), nil
}

// IsStreaming reports whether p reads a streaming source.
func (c *Client) IsStreaming(ctx context.Context, p Plan) (bool, error) {
	if p.IsZero() {
		return false, errZeroPlan
	}
	resp, err := c.analyze(ctx, &sparkpb.AnalyzePlanRequest{
		Analyze: &sparkpb.AnalyzePlanRequest_IsStreaming_{IsStreaming: &sparkpb.AnalyzePlanRequest_IsStreaming{Plan: p.proto()}},
	})
	if err != nil {
		return false, err
	}
	return resp.GetIsStreaming().GetIsStreaming(), nil
}

// InputFiles lists the files p reads, as far as the planner knows them.
func (c *Client) InputFiles(ctx context.Context, p Plan) ([]string, error) {
	if p.IsZero() {
		return nil, errZeroPlan
	}
	resp, err := c.analyze(ctx, &sparkpb.AnalyzePlanRequest{
		Analyze: &sparkpb.AnalyzePlanRequest_InputFiles_{InputFiles: &sparkpb.AnalyzePlanRequest_InputFiles{Plan: p.proto()}},
	})
	if err != nil {
		return nil, err
	}
	return resp.GetInputFiles().GetFiles(), nil
}

// ParseDDL parses a DDL schema string ("a int, b string") into columns.
func (c *Client) ParseDDL(ctx context.Context, ddl string) ([]Column, error) {
	resp, err := c.analyze(ctx, &sparkpb.AnalyzePlanRequest{
		Analyze: &sparkpb.AnalyzePlanRequest_DdlParse{DdlParse: &sparkpb.AnalyzePlanRequest_DDLParse{DdlString: ddl}},
	})
	if err != nil {
		return nil, err
	}
	return columnsFromProto(resp.GetDdlParse().GetParsed()), nil
}
