package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

const tableNotFoundMsg = "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found. Verify the spelling and correctness of the schema and catalog. SQLSTATE: 42P01; line 1 pos 14"

// sparkStatus builds the error a Spark Connect server returns: a status
// with an ErrorInfo carrying md, plus any extra details.
func sparkStatus(t *testing.T, code codes.Code, msg string, md map[string]string, extra ...protoadapt.MessageV1) error {
	t.Helper()
	details := append([]protoadapt.MessageV1{&errdetails.ErrorInfo{
		Reason:   "org.apache.spark.sql.catalyst.ExtendedAnalysisException",
		Domain:   "org.apache.spark",
		Metadata: md,
	}}, extra...)
	st, err := status.New(code, msg).WithDetails(details...)
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestErrorFromStatus(t *testing.T) {
	err := sparkStatus(t, codes.Internal, tableNotFoundMsg, map[string]string{
		"classes":           `["org.apache.spark.sql.catalyst.ExtendedAnalysisException","org.apache.spark.sql.AnalysisException"]`,
		"sqlState":          "42P01",
		"errorClass":        "TABLE_OR_VIEW_NOT_FOUND",
		"messageParameters": `{"relationName":"` + "`nope`" + `","n":3}`,
		"errorId":           "6f1c2c1e-0000-4000-8000-000000000001",
	})
	got := fromRPCError(err)
	var se *SparkError
	if !errors.As(got, &se) {
		t.Fatalf("fromRPCError = %T %v, want *SparkError", got, got)
	}
	want := &SparkError{
		Code:              codes.Internal,
		ErrorClass:        "TABLE_OR_VIEW_NOT_FOUND",
		SQLState:          "42P01",
		Message:           tableNotFoundMsg,
		MessageParameters: map[string]string{"relationName": "`nope`", "n": "3"},
		ExceptionClass:    "org.apache.spark.sql.catalyst.ExtendedAnalysisException",
		Classes:           []string{"org.apache.spark.sql.catalyst.ExtendedAnalysisException", "org.apache.spark.sql.AnalysisException"},
		ErrorID:           "6f1c2c1e-0000-4000-8000-000000000001",
	}
	se.status = nil
	if !reflect.DeepEqual(se, want) {
		t.Errorf("fromRPCError =\n %#v\nwant\n %#v", se, want)
	}
	if got.Error() != tableNotFoundMsg {
		t.Errorf("Error() = %q, want the message unchanged (no duplicated class or SQLSTATE)", got.Error())
	}
	if c := ErrorClassOf(fmt.Errorf("query failed: %w", got)); c != "TABLE_OR_VIEW_NOT_FOUND" {
		t.Errorf("ErrorClassOf(wrapped) = %q", c)
	}
	if status.Code(fmt.Errorf("x: %w", fromRPCError(err))) != codes.Internal {
		t.Errorf("status.Code does not see through a wrapped SparkError")
	}
	if fromRPCError(got) != got {
		t.Errorf("fromRPCError is not idempotent")
	}
}

func TestErrorMessageFormat(t *testing.T) {
	tests := []struct {
		e    SparkError
		want string
	}{
		{SparkError{Code: codes.Internal, ErrorClass: "TABLE_OR_VIEW_NOT_FOUND", SQLState: "42P01", Message: tableNotFoundMsg}, tableNotFoundMsg},
		{SparkError{Code: codes.Internal, ErrorClass: "DIVIDE_BY_ZERO", SQLState: "22012", Message: "Division by zero."},
			"[DIVIDE_BY_ZERO] Division by zero. SQLSTATE: 22012"},
		{SparkError{Code: codes.Internal, ErrorClass: "X", Message: "[X] already there"}, "[X] already there"},
		{SparkError{Code: codes.Internal, ErrorClass: "X"}, "[X]"},
		{SparkError{Code: codes.Internal, ExceptionClass: "java.lang.IllegalStateException", Message: "boom"},
			"java.lang.IllegalStateException: boom"},
		{SparkError{Code: codes.Unavailable, Message: "connection error: refused"}, "UNAVAILABLE: connection error: refused"},
		{SparkError{Code: codes.Unknown}, "UNKNOWN"},
		{SparkError{Code: codes.Unauthenticated, Message: "Invalid authentication token"},
			"Spark Connect refused the credentials (UNAUTHENTICATED: Invalid authentication token): check the token= in the sc:// URL"},
		{SparkError{Code: codes.Unauthenticated, Message: "No authentication token provided"},
			"Spark Connect refused the credentials (UNAUTHENTICATED: No authentication token provided): check the token= in the sc:// URL"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorUnauthenticated(t *testing.T) {
	err := fromRPCError(status.Error(codes.Unauthenticated, "Invalid authentication token"))
	var se *SparkError
	if !errors.As(err, &se) || !se.Unauthenticated() {
		t.Fatalf("got %#v, want an unauthenticated SparkError", err)
	}
	if IsTransient(err) {
		t.Errorf("UNAUTHENTICATED is transient")
	}
	if (&SparkError{Code: codes.Internal}).Unauthenticated() {
		t.Errorf("INTERNAL is unauthenticated")
	}
}

func TestErrorMalformedMetadata(t *testing.T) {
	tests := []map[string]string{
		nil,
		{"classes": "not json", "messageParameters": "{broken"},
		{"classes": `{"a":1}`, "messageParameters": `["a"]`},
		{"classes": "", "messageParameters": "", "errorClass": "", "sqlState": ""},
		{"messageParameters": "null", "classes": "null"},
	}
	for _, md := range tests {
		err := fromRPCError(sparkStatus(t, codes.Internal, "boom", md))
		var se *SparkError
		if !errors.As(err, &se) {
			t.Fatalf("%v: got %T", md, err)
		}
		if se.Message != "boom" || se.Code != codes.Internal || se.MessageParameters != nil || se.Classes != nil ||
			se.ExceptionClass != "org.apache.spark.sql.catalyst.ExtendedAnalysisException" {
			t.Errorf("%v: got %#v", md, se)
		}
	}

	// No ErrorInfo at all, an ErrorInfo without reason, and an unrelated
	// detail.
	st, _ := status.New(codes.Internal, "plain").WithDetails(&errdetails.DebugInfo{Detail: "x"})
	if se := fromRPCError(st.Err()).(*SparkError); se.Message != "plain" || se.ExceptionClass != "" || se.Error() != "INTERNAL: plain" {
		t.Errorf("status without ErrorInfo: %#v / %q", se, se.Error())
	}
	st, _ = status.New(codes.Internal, "m").WithDetails(&errdetails.ErrorInfo{Metadata: map[string]string{"classes": `["a.B","a.C"]`}})
	if se := fromRPCError(st.Err()).(*SparkError); se.ExceptionClass != "a.B" {
		t.Errorf("ExceptionClass from classes = %q, want a.B", se.ExceptionClass)
	}
}

func TestErrorPassThroughAndContext(t *testing.T) {
	if fromRPCError(nil) != nil {
		t.Errorf("fromRPCError(nil) != nil")
	}
	for _, err := range []error{io.EOF, context.Canceled, context.DeadlineExceeded, fmt.Errorf("dial: %w", io.ErrUnexpectedEOF)} {
		if got := fromRPCError(err); got != err {
			t.Errorf("fromRPCError(%v) = %v, want it unchanged", err, got)
		}
	}
	wrapped := fmt.Errorf("call: %w", status.Error(codes.Internal, "x"))
	if got := fromRPCError(wrapped); got != wrapped {
		t.Errorf("a wrapped status was converted: %v", got)
	}

	for _, tt := range []struct {
		code codes.Code
		is   error
		not  error
	}{
		{codes.Canceled, context.Canceled, context.DeadlineExceeded},
		{codes.DeadlineExceeded, context.DeadlineExceeded, context.Canceled},
	} {
		err := fromRPCError(status.Error(tt.code, "ctx"))
		if !errors.Is(err, tt.is) || errors.Is(err, tt.not) {
			t.Errorf("%v: errors.Is(%v) = %v, errors.Is(%v) = %v", tt.code, tt.is, errors.Is(err, tt.is), tt.not, errors.Is(err, tt.not))
		}
		if status.Code(err) != tt.code {
			t.Errorf("%v: status.Code = %v", tt.code, status.Code(err))
		}
		if _, ok := err.(*SparkError); !ok {
			t.Errorf("%v: got %T, want *SparkError", tt.code, err)
		}
	}
	if errors.Is(fromRPCError(status.Error(codes.Internal, "x")), context.Canceled) {
		t.Errorf("INTERNAL matches context.Canceled")
	}
}

func TestErrorIsTarget(t *testing.T) {
	err := fmt.Errorf("x: %w", &SparkError{Code: codes.Internal, ErrorClass: "INVALID_CURSOR.DISCONNECTED"})
	for target, want := range map[*SparkError]bool{
		{ErrorClass: "INVALID_CURSOR.DISCONNECTED"}:                          true,
		{ErrorClass: "INVALID_CURSOR"}:                                       true,
		{ErrorClass: "INVALID_CURSOR.DISCONNECTED", Code: codes.Internal}:    true,
		{Code: codes.Internal}:                                               true,
		{ErrorClass: "INVALID_CURSOR.DISCONNECTED", Code: codes.Unavailable}: false,
		{ErrorClass: "INVALID_CUR"}:                                          false,
		{ErrorClass: "INVALID_CURSOR.DISCONNECTED.MORE"}:                     false,
		{}: false,
	} {
		if got := errors.Is(err, target); got != want {
			t.Errorf("errors.Is(err, %+v) = %v, want %v", *target, got, want)
		}
	}
}

func TestErrorClassOfNonSpark(t *testing.T) {
	if c := ErrorClassOf(nil); c != "" {
		t.Errorf("ErrorClassOf(nil) = %q", c)
	}
	if c := ErrorClassOf(io.EOF); c != "" {
		t.Errorf("ErrorClassOf(io.EOF) = %q", c)
	}
}

func i32(v int32) *int32   { return &v }
func str(v string) *string { return &v }

func TestErrorAddDetailsChain(t *testing.T) {
	resp := &sparkpb.FetchErrorDetailsResponse{
		RootErrorIdx: i32(1),
		Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			{ // 0: second cause
				ErrorTypeHierarchy: []string{"java.io.IOException", "java.lang.Exception"},
				Message:            "disk full",
			},
			{ // 1: root
				ErrorTypeHierarchy: []string{"org.apache.spark.SparkException", "java.lang.Exception"},
				Message:            "[FAILED_READ_FILE.NO_HINT] Error while reading file x. SQLSTATE: KD001",
				CauseIdx:           i32(2),
				SparkThrowable: &sparkpb.FetchErrorDetailsResponse_SparkThrowable{
					ErrorClass:        str("FAILED_READ_FILE.NO_HINT"),
					SqlState:          str("KD001"),
					MessageParameters: map[string]string{"path": strings.Repeat("p", 2000)},
					QueryContexts: []*sparkpb.FetchErrorDetailsResponse_QueryContext{{
						ObjectType: "VIEW", ObjectName: "v", StartIndex: 7, StopIndex: 12,
						Fragment: "x / 0", Summary: "== SQL ==",
					}},
				},
			},
			{ // 2: first cause
				ErrorTypeHierarchy: []string{"org.apache.spark.SparkRuntimeException"},
				Message:            "[INNER] inner failure",
				CauseIdx:           i32(0),
				SparkThrowable: &sparkpb.FetchErrorDetailsResponse_SparkThrowable{
					ErrorClass:        str("INNER"),
					SqlState:          str("XX000"),
					MessageParameters: map[string]string{"k": "v"},
				},
			},
		},
	}
	// The metadata had no errorClass, sqlState or messageParameters (too
	// long) and the status message was truncated.
	se := &SparkError{Code: codes.Internal, Message: "[FAILED_READ_FILE.NO_HINT] Error while...", ErrorID: "id"}
	se.addDetails(resp)

	want := &SparkError{
		Code:              codes.Internal,
		ErrorClass:        "FAILED_READ_FILE.NO_HINT",
		SQLState:          "KD001",
		Message:           "[FAILED_READ_FILE.NO_HINT] Error while reading file x. SQLSTATE: KD001",
		MessageParameters: map[string]string{"path": strings.Repeat("p", 2000)},
		ExceptionClass:    "org.apache.spark.SparkException",
		Classes:           []string{"org.apache.spark.SparkException", "java.lang.Exception"},
		ErrorID:           "id",
		Causes: []ErrorCause{
			{ExceptionClass: "org.apache.spark.SparkRuntimeException", ErrorClass: "INNER", SQLState: "XX000", Message: "[INNER] inner failure", MessageParameters: map[string]string{"k": "v"}},
			{ExceptionClass: "java.io.IOException", Message: "disk full"},
		},
		QueryContexts: []QueryContext{{ObjectType: "VIEW", ObjectName: "v", StartIndex: 7, StopIndex: 12, Fragment: "x / 0", Summary: "== SQL =="}},
	}
	if !reflect.DeepEqual(se, want) {
		t.Errorf("addDetails =\n %#v\nwant\n %#v", se, want)
	}
	if se.Error() != want.Message {
		t.Errorf("Error() = %q", se.Error())
	}

	// Calling it again gives the same result, and values from the status
	// metadata win over the details.
	se.ErrorClass, se.SQLState = "FROM_METADATA", "00000"
	se.addDetails(resp)
	if se.ErrorClass != "FROM_METADATA" || se.SQLState != "00000" || len(se.Causes) != 2 || len(se.QueryContexts) != 1 {
		t.Errorf("second addDetails: %#v", se)
	}
}

func TestErrorAddDetailsCyclesAndBadIndexes(t *testing.T) {
	e := func(msg string, cause *int32) *sparkpb.FetchErrorDetailsResponse_Error {
		return &sparkpb.FetchErrorDetailsResponse_Error{ErrorTypeHierarchy: []string{"E"}, Message: msg, CauseIdx: cause}
	}
	tests := []struct {
		name   string
		resp   *sparkpb.FetchErrorDetailsResponse
		causes []string
	}{
		{"cycle back to root", &sparkpb.FetchErrorDetailsResponse{Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			e("root", i32(1)), e("a", i32(2)), e("b", i32(0)),
		}}, []string{"a", "b"}},
		{"cycle among causes", &sparkpb.FetchErrorDetailsResponse{Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			e("root", i32(1)), e("a", i32(2)), e("b", i32(1)),
		}}, []string{"a", "b"}},
		{"self cause", &sparkpb.FetchErrorDetailsResponse{Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			e("root", i32(0)),
		}}, nil},
		{"cause out of range", &sparkpb.FetchErrorDetailsResponse{Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			e("root", i32(1)), e("a", i32(7)),
		}}, []string{"a"}},
		{"negative cause", &sparkpb.FetchErrorDetailsResponse{Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			e("root", i32(-1)),
		}}, nil},
		{"nil cause entry", &sparkpb.FetchErrorDetailsResponse{Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			e("root", i32(1)), nil,
		}}, nil},
		{"root out of range", &sparkpb.FetchErrorDetailsResponse{RootErrorIdx: i32(5), Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			e("root", nil),
		}}, nil},
		{"negative root", &sparkpb.FetchErrorDetailsResponse{RootErrorIdx: i32(-1), Errors: []*sparkpb.FetchErrorDetailsResponse_Error{
			e("root", nil),
		}}, nil},
		{"no errors", &sparkpb.FetchErrorDetailsResponse{}, nil},
		{"nil response", nil, nil},
	}
	for _, tt := range tests {
		se := &SparkError{Code: codes.Internal, Message: "root"}
		se.addDetails(tt.resp)
		var got []string
		for _, c := range se.Causes {
			got = append(got, c.Message)
		}
		if !reflect.DeepEqual(got, tt.causes) {
			t.Errorf("%s: causes %q, want %q", tt.name, got, tt.causes)
		}
	}
}

func TestErrorRetryInfoDelay(t *testing.T) {
	err := sparkStatus(t, codes.Unavailable, "busy", nil, &errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)})
	if d := retryDelay(err); d.Seconds() != 1.5 {
		t.Errorf("retryDelay = %v, want 1.5s", d)
	}
	if d := retryDelay(fmt.Errorf("w: %w", fromRPCError(err))); d.Seconds() != 1.5 {
		t.Errorf("retryDelay through a wrapped SparkError = %v, want 1.5s", d)
	}
	if d := retryDelay(io.EOF); d != 0 {
		t.Errorf("retryDelay(io.EOF) = %v", d)
	}
}
