package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// SparkError is an error returned by a Spark Connect server, or any other
// gRPC status error seen by the client.
//
// Spark reports failures as a gRPC status (mostly INTERNAL) whose details
// carry a google.rpc.ErrorInfo naming the Java exception, Spark's error
// class, SQLSTATE and message parameters. Causes and QueryContexts are only
// filled after the client fetched the error details from the server.
//
// A SparkError with code CANCELLED or DEADLINE_EXCEEDED matches
// context.Canceled or context.DeadlineExceeded under errors.Is, and
// status.Code / status.FromError see the original gRPC status.
type SparkError struct {
	// Code is the gRPC status code.
	Code codes.Code
	// ErrorClass is Spark's error class, e.g. "TABLE_OR_VIEW_NOT_FOUND"
	// or "INVALID_CURSOR.DISCONNECTED"; empty for errors without one.
	ErrorClass string
	SQLState   string
	// Message is the server's message. Spark's messages usually already
	// start with "[ERROR_CLASS]" and end with "SQLSTATE: xxxxx".
	Message           string
	MessageParameters map[string]string
	// ExceptionClass is the Java exception class, e.g.
	// "org.apache.spark.sql.AnalysisException".
	ExceptionClass string
	// Classes is the exception class hierarchy, most specific first.
	Classes []string
	// ErrorID identifies the error for FetchErrorDetails.
	ErrorID       string
	Causes        []ErrorCause
	QueryContexts []QueryContext

	status *status.Status
}

// ErrorCause is one exception in the cause chain of a SparkError, the
// direct cause first.
type ErrorCause struct {
	ExceptionClass    string
	ErrorClass        string
	SQLState          string
	Message           string
	MessageParameters map[string]string
}

// QueryContext locates the part of a query that failed.
type QueryContext struct {
	ObjectType, ObjectName string
	StartIndex, StopIndex  int32
	Fragment, Summary      string
}

// Error formats the error as "[ERROR_CLASS] message SQLSTATE: xxxxx",
// without repeating the class or SQLSTATE when the message contains them.
func (e *SparkError) Error() string {
	if e.Unauthenticated() {
		msg := e.Message
		if msg == "" {
			msg = "no reason given"
		}
		return fmt.Sprintf("Spark Connect refused the credentials (UNAUTHENTICATED: %s): check the token= in the sc:// URL", msg)
	}
	msg := strings.TrimSpace(e.Message)
	var b strings.Builder
	switch {
	case e.ErrorClass != "":
		if !strings.Contains(msg, "["+e.ErrorClass+"]") {
			b.WriteString("[" + e.ErrorClass + "]")
			if msg != "" {
				b.WriteByte(' ')
			}
		}
	case e.ExceptionClass != "":
		b.WriteString(e.ExceptionClass)
		if msg != "" {
			b.WriteString(": ")
		}
	default:
		b.WriteString(codeName(e.Code))
		if msg != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(msg)
	if e.SQLState != "" && !strings.Contains(msg, "SQLSTATE: "+e.SQLState) {
		b.WriteString(" SQLSTATE: " + e.SQLState)
	}
	return b.String()
}

// Unauthenticated reports whether the server rejected the credentials
// (gRPC code UNAUTHENTICATED), e.g. a wrong or missing token.
func (e *SparkError) Unauthenticated() bool { return e.Code == codes.Unauthenticated }

// Is makes errors.Is(err, context.Canceled) and
// errors.Is(err, context.DeadlineExceeded) hold for the matching gRPC
// codes. A *SparkError target matches when its non-empty fields
// ErrorClass and Code match: an ErrorClass matches itself and its
// sub-classes ("INVALID_CURSOR" matches "INVALID_CURSOR.DISCONNECTED").
func (e *SparkError) Is(target error) bool {
	switch target {
	case context.Canceled:
		return e.Code == codes.Canceled
	case context.DeadlineExceeded:
		return e.Code == codes.DeadlineExceeded
	}
	t, ok := target.(*SparkError)
	if !ok || t == nil {
		return false
	}
	if t == e {
		return true
	}
	if t.ErrorClass == "" && t.Code == codes.OK {
		return false
	}
	if t.Code != codes.OK && t.Code != e.Code {
		return false
	}
	if t.ErrorClass != "" && e.ErrorClass != t.ErrorClass && !strings.HasPrefix(e.ErrorClass, t.ErrorClass+".") {
		return false
	}
	return true
}

// GRPCStatus returns the gRPC status the error was built from, so that
// status.Code and status.FromError work on a SparkError.
func (e *SparkError) GRPCStatus() *status.Status {
	if e.status != nil {
		return e.status
	}
	return status.New(e.Code, e.Message)
}

// ErrorClassOf returns the Spark error class of the first *SparkError in
// err's chain, or "".
func ErrorClassOf(err error) string {
	var se *SparkError
	if errors.As(err, &se) {
		return se.ErrorClass
	}
	return ""
}

// fromRPCError converts a gRPC status error, as returned by a gRPC call,
// into a *SparkError. nil, errors that already contain a *SparkError, errors
// that merely wrap a status and errors without a gRPC status (including
// context.Canceled and context.DeadlineExceeded themselves) are returned
// unchanged.
func fromRPCError(err error) error {
	if err == nil {
		return nil
	}
	var se *SparkError
	if errors.As(err, &se) {
		return err
	}
	// Only a bare status error is converted: an error that wraps one
	// carries context of its own, and status.Code still sees through it.
	gs, ok := err.(interface{ GRPCStatus() *status.Status })
	if !ok {
		return err
	}
	st := gs.GRPCStatus()
	if st == nil || st.Code() == codes.OK {
		return err
	}
	se = &SparkError{Code: st.Code(), Message: st.Message(), status: st}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || se.ExceptionClass != "" || se.ErrorClass != "" {
			continue
		}
		se.ExceptionClass = info.GetReason()
		md := info.GetMetadata()
		se.ErrorClass = md["errorClass"]
		se.SQLState = md["sqlState"]
		se.ErrorID = md["errorId"]
		if v := md["classes"]; v != "" {
			var classes []string
			if json.Unmarshal([]byte(v), &classes) == nil {
				se.Classes = classes
			}
		}
		if v := md["messageParameters"]; v != "" {
			se.MessageParameters = decodeParams(v)
		}
		if se.ExceptionClass == "" && len(se.Classes) > 0 {
			se.ExceptionClass = se.Classes[0]
		}
	}
	return se
}

// decodeParams decodes a JSON object of message parameters. Non-string
// values are kept in their JSON form; malformed input yields nil.
func decodeParams(s string) map[string]string {
	var raw map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &raw) != nil || len(raw) == 0 {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var str string
		if json.Unmarshal(v, &str) == nil {
			out[k] = str
		} else {
			out[k] = string(v)
		}
	}
	return out
}

// addDetails completes e from a FetchErrorDetails response: it fills
// Causes from the cause chain of the root error (stopping at cycles and
// out-of-range indexes) and QueryContexts from the root error, and takes
// the error class, message parameters, SQLSTATE, exception classes and
// full message from the root error where the status metadata lacked them
// (the server drops messageParameters over 1 KiB and truncates messages).
func (e *SparkError) addDetails(resp *sparkpb.FetchErrorDetailsResponse) {
	errs := resp.GetErrors()
	if len(errs) == 0 {
		return
	}
	idx := int(resp.GetRootErrorIdx())
	if idx < 0 || idx >= len(errs) || errs[idx] == nil {
		return
	}
	root := errs[idx]
	th := root.GetSparkThrowable()
	if e.ErrorClass == "" {
		e.ErrorClass = th.GetErrorClass()
	}
	if e.SQLState == "" {
		e.SQLState = th.GetSqlState()
	}
	if len(e.MessageParameters) == 0 && len(th.GetMessageParameters()) > 0 {
		e.MessageParameters = cloneParams(th.GetMessageParameters())
	}
	if len(e.Classes) == 0 && len(root.GetErrorTypeHierarchy()) > 0 {
		e.Classes = append([]string(nil), root.GetErrorTypeHierarchy()...)
	}
	if e.ExceptionClass == "" && len(e.Classes) > 0 {
		e.ExceptionClass = e.Classes[0]
	}
	if m := root.GetMessage(); m != "" {
		// The status message is cut at about 2 KiB and marked with "...".
		if e.Message == "" || len(m) > len(e.Message) && strings.HasPrefix(m, strings.TrimSuffix(e.Message, "...")) {
			e.Message = m
		}
	}

	e.QueryContexts = nil
	for _, qc := range th.GetQueryContexts() {
		e.QueryContexts = append(e.QueryContexts, QueryContext{
			ObjectType: qc.GetObjectType(),
			ObjectName: qc.GetObjectName(),
			StartIndex: qc.GetStartIndex(),
			StopIndex:  qc.GetStopIndex(),
			Fragment:   qc.GetFragment(),
			Summary:    qc.GetSummary(),
		})
	}

	e.Causes = nil
	seen := map[int]bool{idx: true}
	for cur := root; cur.CauseIdx != nil; {
		ci := int(cur.GetCauseIdx())
		if ci < 0 || ci >= len(errs) || seen[ci] || errs[ci] == nil {
			break
		}
		seen[ci] = true
		cur = errs[ci]
		cth := cur.GetSparkThrowable()
		c := ErrorCause{
			ErrorClass:        cth.GetErrorClass(),
			SQLState:          cth.GetSqlState(),
			Message:           cur.GetMessage(),
			MessageParameters: cloneParams(cth.GetMessageParameters()),
		}
		if h := cur.GetErrorTypeHierarchy(); len(h) > 0 {
			c.ExceptionClass = h[0]
		}
		e.Causes = append(e.Causes, c)
	}
}

func cloneParams(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// codeName returns the canonical upper-case name of a gRPC code, as in
// "UNAVAILABLE".
func codeName(c codes.Code) string {
	switch c {
	case codes.OK:
		return "OK"
	case codes.Canceled:
		return "CANCELLED"
	case codes.Unknown:
		return "UNKNOWN"
	case codes.InvalidArgument:
		return "INVALID_ARGUMENT"
	case codes.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case codes.NotFound:
		return "NOT_FOUND"
	case codes.AlreadyExists:
		return "ALREADY_EXISTS"
	case codes.PermissionDenied:
		return "PERMISSION_DENIED"
	case codes.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case codes.FailedPrecondition:
		return "FAILED_PRECONDITION"
	case codes.Aborted:
		return "ABORTED"
	case codes.OutOfRange:
		return "OUT_OF_RANGE"
	case codes.Unimplemented:
		return "UNIMPLEMENTED"
	case codes.Internal:
		return "INTERNAL"
	case codes.Unavailable:
		return "UNAVAILABLE"
	case codes.DataLoss:
		return "DATA_LOSS"
	case codes.Unauthenticated:
		return "UNAUTHENTICATED"
	}
	return fmt.Sprintf("CODE_%d", uint32(c))
}
