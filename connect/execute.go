package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// ExecOptions tune one ExecutePlan operation.
type ExecOptions struct {
	// OperationID identifies the operation on the server; a random UUID when
	// empty. It must be a UUID.
	OperationID string
	// Tags label the operation so that InterruptTag can stop it. A tag may
	// not be empty or contain a comma.
	Tags []string
	// NotReattachable runs the operation without server-side buffering:
	// a cut stream then fails instead of being resumed.
	NotReattachable bool
	// MaxBytes stops the operation with ErrResultTooLarge once the Arrow
	// data received exceeds it; 0 means no limit.
	MaxBytes int64
	// OnProgress, when set, receives the server's execution progress.
	OnProgress func(Progress)
}

// Progress is a snapshot of a running operation's stages.
type Progress struct {
	Stages         int
	TasksDone      int64
	TasksTotal     int64
	InflightTasks  int64
	InputBytesRead int64
}

// Result is the outcome of Collect: the columns and every row.
type Result struct {
	Columns     []Column
	Rows        [][]any
	OperationID string
	// ArrowBytes counts the Arrow IPC bytes received.
	ArrowBytes int64
}

// ErrResultTooLarge reports that a result passed ExecOptions.MaxBytes; the
// operation was interrupted.
var ErrResultTooLarge = errors.New("result exceeds the byte limit")

// errReattach signals that the server closed the stream before the result
// was complete, which is normal for long operations: reattach and go on.
var errReattach = errors.New("stream ended before result_complete")

// Collect executes p and returns all of its rows.
func (c *Client) Collect(ctx context.Context, p Plan, opts ExecOptions) (*Result, error) {
	if p.IsZero() {
		return nil, errZeroPlan
	}
	res := &Result{}
	dec := newBatchDecoder(memory.DefaultAllocator)
	var nested *Plan
	opID, err := c.execute(ctx, p.proto(), opts, func(resp *sparkpb.ExecutePlanResponse) error {
		if s := resp.GetSchema(); s != nil && res.Columns == nil {
			res.Columns = columnsFromProto(s)
		}
		switch r := resp.GetResponseType().(type) {
		case *sparkpb.ExecutePlanResponse_ArrowBatch_:
			return c.addBatch(res, dec, r.ArrowBatch.GetData(), opts.MaxBytes)
		case *sparkpb.ExecutePlanResponse_SqlCommandResult_:
			rel := r.SqlCommandResult.GetRelation()
			if lr := rel.GetLocalRelation(); lr != nil {
				return c.addBatch(res, dec, lr.GetData(), opts.MaxBytes)
			}
			if rel != nil {
				nested = &Plan{rel: rel}
			}
		}
		return nil
	})
	res.OperationID = opID
	if err != nil {
		return nil, err
	}
	if nested != nil {
		// The statement was a query: spark.sql only parsed it. Run it.
		return c.Collect(ctx, *nested, ExecOptions{Tags: opts.Tags, MaxBytes: opts.MaxBytes, OnProgress: opts.OnProgress})
	}
	if res.Columns == nil {
		res.Columns = dec.columns()
	}
	return res, nil
}

func (c *Client) addBatch(res *Result, dec *batchDecoder, data []byte, maxBytes int64) error {
	if len(data) == 0 {
		return nil
	}
	res.ArrowBytes += int64(len(data))
	if maxBytes > 0 && res.ArrowBytes > maxBytes {
		return fmt.Errorf("%w of %d bytes (received %d so far): narrow the query or lower the row limit", ErrResultTooLarge, maxBytes, res.ArrowBytes)
	}
	rows, err := dec.decode(data, res.Rows)
	if err != nil {
		return fmt.Errorf("decode arrow batch: %w", err)
	}
	res.Rows = rows
	return nil
}

// Execute runs p and hands every raw response to fn; it is the building
// block for commands whose responses are not rows (pipeline runs).
func (c *Client) execute(ctx context.Context, plan *sparkpb.Plan, opts ExecOptions, fn func(*sparkpb.ExecutePlanResponse) error) (string, error) {
	opID := opts.OperationID
	if opID == "" {
		opID = uuid.NewString()
	} else if _, err := uuid.Parse(opID); err != nil {
		return "", fmt.Errorf("operation id %q is not a UUID", opID)
	}
	for _, t := range opts.Tags {
		if t == "" || strings.Contains(t, ",") {
			return "", fmt.Errorf("operation tag %q is invalid: tags must be non-empty and contain no comma", t)
		}
	}
	req := &sparkpb.ExecutePlanRequest{
		SessionId: c.sessionID, UserContext: c.user, Plan: plan, ClientType: &c.clientType,
		OperationId: &opID, Tags: opts.Tags, ClientObservedServerSideSessionId: c.observed(),
	}
	reattachable := !opts.NotReattachable
	if reattachable {
		req.RequestOptions = []*sparkpb.ExecutePlanRequest_RequestOption{{
			RequestOption: &sparkpb.ExecutePlanRequest_RequestOption_ReattachOptions{
				ReattachOptions: &sparkpb.ReattachOptions{Reattachable: true},
			},
		}}
	}
	op := &operation{c: c, id: opID, req: req, reattachable: reattachable, fn: fn, onProgress: opts.OnProgress}
	err := op.run(ctx)
	if err != nil {
		return opID, err
	}
	return opID, nil
}

// operation is the client side of one ExecutePlan: it follows the response
// stream across reattachments until the result is complete.
type operation struct {
	c            *Client
	id           string
	req          *sparkpb.ExecutePlanRequest
	reattachable bool
	fn           func(*sparkpb.ExecutePlanResponse) error
	onProgress   func(Progress)

	sent     bool   // the ExecutePlan request reached the server
	lastResp string // id of the last response handled
	complete bool   // result_complete seen
}

func (op *operation) run(ctx context.Context) error {
	attempt := 0
	for {
		err := op.attach(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, errReattach) {
			op.c.log.Debug("stream ended before the result was complete; reattaching", "operation_id", op.id, "last_response_id", op.lastResp)
			attempt = 0
			continue
		}
		if ctx.Err() != nil {
			op.abandon(ctx)
			return fmt.Errorf("operation %s interrupted: %w", op.id, context.Cause(ctx))
		}
		var handlerErr *handlerError
		if errors.As(err, &handlerErr) {
			op.abandon(ctx)
			return handlerErr.err
		}
		if errors.Is(err, ErrServerRestarted) {
			return err
		}
		mapped := op.c.mapError(err)
		// Transient unavailability: before the request went out, send it
		// again; after, reattach (only a reattachable operation can be
		// resumed without running it twice).
		if IsTransient(mapped) && (!op.sent || op.reattachable) && attempt+1 < op.c.retry.MaxAttempts {
			if op.sent {
				op.c.log.Info("spark connect stream cut, reattaching", "operation_id", op.id, "attempt", attempt+1, "err", err)
			} else {
				op.c.log.Info("spark connect unavailable, retrying", "operation_id", op.id, "attempt", attempt+1, "err", err)
			}
			if werr := op.c.retry.wait(ctx, attempt, mapped); werr != nil {
				op.abandon(ctx)
				return fmt.Errorf("operation %s interrupted: %w", op.id, werr)
			}
			attempt++
			continue
		}
		if op.sent && !op.complete && ErrorClassOf(mapped) == "INVALID_HANDLE.OPERATION_NOT_FOUND" && op.lastResp == "" {
			// The first request never reached the server: send it again.
			op.sent = false
			continue
		}
		if IsTransient(mapped) {
			return fmt.Errorf("spark connect server %s is unavailable (operation %s, %d attempts): %w", op.c.ep, op.id, attempt+1, mapped)
		}
		if op.reattachable && op.sent {
			op.release(ctx)
		}
		return op.c.enrich(ctx, mapped)
	}
	if op.reattachable {
		op.release(ctx)
	}
	return nil
}

// handlerError carries an error returned by the response handler, which
// ends the operation without retrying.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// attach opens the response stream (the first time with ExecutePlan, later
// with ReattachExecute) and reads it to the end.
func (op *operation) attach(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		stream interface {
			Recv() (*sparkpb.ExecutePlanResponse, error)
		}
		err error
	)
	if !op.sent {
		stream, err = op.c.rpc.ExecutePlan(sctx, op.req)
		op.sent = err == nil
	} else {
		rr := &sparkpb.ReattachExecuteRequest{
			SessionId: op.c.sessionID, UserContext: op.c.user, OperationId: op.id, ClientType: &op.c.clientType,
			ClientObservedServerSideSessionId: op.c.observed(),
		}
		if op.lastResp != "" {
			rr.LastResponseId = &op.lastResp
		}
		stream, err = op.c.rpc.ReattachExecute(sctx, rr)
	}
	if err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			if op.complete || !op.reattachable {
				return nil
			}
			return errReattach
		}
		if err != nil {
			return err
		}
		if err := op.c.observe(resp.GetServerSideSessionId()); err != nil {
			return err
		}
		if id := resp.GetResponseId(); id != "" {
			op.lastResp = id
		}
		switch r := resp.GetResponseType().(type) {
		case *sparkpb.ExecutePlanResponse_ResultComplete_:
			op.complete = true
		case *sparkpb.ExecutePlanResponse_ExecutionProgress_:
			if op.onProgress != nil {
				op.onProgress(progressOf(r.ExecutionProgress))
			}
			continue
		}
		if err := op.fn(resp); err != nil {
			return &handlerError{err: err}
		}
	}
}

// abandon stops the operation on the server after the caller gave up:
// interrupt it, then release it, under a fresh bounded context.
func (op *operation) abandon(ctx context.Context) {
	if !op.sent {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), op.c.releaseTTL)
	defer cancel()
	if ids, err := op.c.InterruptOperation(cctx, op.id); err != nil {
		op.c.log.Warn("interrupt abandoned operation", "operation_id", op.id, "err", err)
	} else {
		op.c.log.Debug("interrupted", "operation_id", op.id, "interrupted", ids)
	}
	if op.reattachable {
		op.release(cctx)
	}
}

// release tells the server it may drop the operation and its buffered
// responses.
func (op *operation) release(ctx context.Context) {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), op.c.releaseTTL)
		defer cancel()
	}
	_, err := op.c.rpc.ReleaseExecute(ctx, &sparkpb.ReleaseExecuteRequest{
		SessionId: op.c.sessionID, UserContext: op.c.user, OperationId: op.id, ClientType: &op.c.clientType,
		ClientObservedServerSideSessionId: op.c.observed(),
		Release:                           &sparkpb.ReleaseExecuteRequest_ReleaseAll_{ReleaseAll: &sparkpb.ReleaseExecuteRequest_ReleaseAll{}},
	})
	if err != nil {
		op.c.log.Debug("release execute", "operation_id", op.id, "err", err)
	}
}

func progressOf(p *sparkpb.ExecutePlanResponse_ExecutionProgress) Progress {
	out := Progress{Stages: len(p.GetStages()), InflightTasks: p.GetNumInflightTasks()}
	for _, s := range p.GetStages() {
		out.TasksDone += s.GetNumCompletedTasks()
		out.TasksTotal += s.GetNumTasks()
		out.InputBytesRead += s.GetInputBytesRead()
	}
	return out
}
