package connect

import (
	"context"
	"errors"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

var errZeroPlan = errors.New("empty plan: build one with connect.SQL, connect.Table, connect.Range or connect.Limit")

// config sends one Config request.
func (c *Client) config(ctx context.Context, op *sparkpb.ConfigRequest_Operation) (*sparkpb.ConfigResponse, error) {
	req := &sparkpb.ConfigRequest{
		SessionId: c.sessionID, UserContext: c.user, Operation: op, ClientType: &c.clientType,
		ClientObservedServerSideSessionId: c.observed(),
	}
	var resp *sparkpb.ConfigResponse
	err := c.retry.run(ctx, c.log, "Config", func(ctx context.Context) (err error) {
		resp, err = c.rpc.Config(ctx, req)
		return err
	})
	if err != nil {
		return nil, c.enrich(ctx, c.mapError(err))
	}
	if err := c.observe(resp.GetServerSideSessionId()); err != nil {
		return nil, err
	}
	for _, w := range resp.GetWarnings() {
		c.log.Warn("spark config", "warning", w)
	}
	return resp, nil
}

// SetConf sets session configuration entries.
func (c *Client) SetConf(ctx context.Context, kv map[string]string) error {
	pairs := make([]*sparkpb.KeyValue, 0, len(kv))
	for k, v := range kv {
		pairs = append(pairs, &sparkpb.KeyValue{Key: k, Value: &v})
	}
	_, err := c.config(ctx, &sparkpb.ConfigRequest_Operation{OpType: &sparkpb.ConfigRequest_Operation_Set{
		Set: &sparkpb.ConfigRequest_Set{Pairs: pairs},
	}})
	return err
}

// GetConf returns the values of keys. A key the server does not know is an
// error (Spark's SQL_CONF_NOT_FOUND); an unset optional key is absent from
// the map.
func (c *Client) GetConf(ctx context.Context, keys ...string) (map[string]string, error) {
	resp, err := c.config(ctx, &sparkpb.ConfigRequest_Operation{OpType: &sparkpb.ConfigRequest_Operation_GetOption{
		GetOption: &sparkpb.ConfigRequest_GetOption{Keys: keys},
	}})
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	for _, p := range resp.GetPairs() {
		if p.Value != nil {
			out[p.GetKey()] = p.GetValue()
		}
	}
	return out, nil
}

// UnsetConf restores keys to their defaults.
func (c *Client) UnsetConf(ctx context.Context, keys ...string) error {
	_, err := c.config(ctx, &sparkpb.ConfigRequest_Operation{OpType: &sparkpb.ConfigRequest_Operation_Unset{
		Unset: &sparkpb.ConfigRequest_Unset{Keys: keys},
	}})
	return err
}

// InterruptTag interrupts every running operation of this session that
// carries tag, and returns the ids of those it interrupted.
func (c *Client) InterruptTag(ctx context.Context, tag string) ([]string, error) {
	return c.interrupt(ctx, &sparkpb.InterruptRequest{
		InterruptType: sparkpb.InterruptRequest_INTERRUPT_TYPE_TAG,
		Interrupt:     &sparkpb.InterruptRequest_OperationTag{OperationTag: tag},
	})
}

// InterruptOperation interrupts one operation by id.
func (c *Client) InterruptOperation(ctx context.Context, operationID string) ([]string, error) {
	return c.interrupt(ctx, &sparkpb.InterruptRequest{
		InterruptType: sparkpb.InterruptRequest_INTERRUPT_TYPE_OPERATION_ID,
		Interrupt:     &sparkpb.InterruptRequest_OperationId{OperationId: operationID},
	})
}

// InterruptAll interrupts every running operation of this session.
func (c *Client) InterruptAll(ctx context.Context) ([]string, error) {
	return c.interrupt(ctx, &sparkpb.InterruptRequest{InterruptType: sparkpb.InterruptRequest_INTERRUPT_TYPE_ALL})
}

func (c *Client) interrupt(ctx context.Context, req *sparkpb.InterruptRequest) ([]string, error) {
	req.SessionId = c.sessionID
	req.UserContext = c.user
	req.ClientType = &c.clientType
	req.ClientObservedServerSideSessionId = c.observed()
	var resp *sparkpb.InterruptResponse
	err := c.retry.run(ctx, c.log, "Interrupt", func(ctx context.Context) (err error) {
		resp, err = c.rpc.Interrupt(ctx, req)
		return err
	})
	if err != nil {
		return nil, c.mapError(err)
	}
	if err := c.observe(resp.GetServerSideSessionId()); err != nil {
		return nil, err
	}
	return resp.GetInterruptedIds(), nil
}

// enrich adds the cause chain from FetchErrorDetails to a Spark error that
// carries an error id. Failing to fetch details leaves err as it is.
func (c *Client) enrich(ctx context.Context, err error) error {
	var se *SparkError
	if !errors.As(err, &se) || se.ErrorID == "" {
		return err
	}
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, c.releaseTTL)
	defer cancel()
	resp, ferr := c.rpc.FetchErrorDetails(ctx, &sparkpb.FetchErrorDetailsRequest{
		SessionId: c.sessionID, UserContext: c.user, ErrorId: se.ErrorID, ClientType: &c.clientType,
		ClientObservedServerSideSessionId: c.observed(),
	})
	if ferr != nil {
		c.log.Debug("fetch error details", "error_id", se.ErrorID, "err", ferr)
		return err
	}
	se.addDetails(resp)
	return err
}
