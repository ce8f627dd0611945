package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// OperatorError is a Spark error the calling agent cannot fix: the server
// refused or failed the operation for a reason of its own (credentials,
// permissions, storage, a server limit, an internal failure). Its message
// names the environment, Spark's error class and SQLSTATE and says that an
// operator must act; the server log holds the whole cause chain under Ref.
type OperatorError struct {
	Environment string
	Class       string
	SQLState    string
	Brief       string // Spark's message, shortened, on one line
	Ref         string
	Err         error
}

func (e *OperatorError) Error() string {
	what := e.Brief
	if e.SQLState != "" {
		what += " (SQLSTATE " + e.SQLState + ")"
	}
	return fmt.Sprintf("the %s engine failed the operation: %s; this is not something the call can change: "+
		"an operator must look at it (the server log has the whole cause under ref %s); the pipeline draft is unchanged",
		e.Environment, what, e.Ref)
}

// Unwrap returns the cause.
func (e *OperatorError) Unwrap() error { return e.Err }

// operatorError wraps a Spark error that is not the agent's to fix, and
// logs its whole cause chain under a fresh reference. Anything else is
// returned unchanged.
func (e *Engine) operatorError(err error) error {
	var se *connect.SparkError
	var oe *OperatorError
	if !errors.As(err, &se) || errors.As(err, &oe) || agentFixable(err) || connect.IsTransient(err) {
		return err
	}
	brief := se.Error()
	if f, ok := failureOf(err); ok && f.Class != "" {
		brief = f.brief()
	}
	oe = &OperatorError{Environment: e.envName(), Class: se.ErrorClass, SQLState: se.SQLState,
		Brief: strings.TrimSuffix(clip(strings.Join(strings.Fields(brief), " "), 600), "."), Ref: newRef(), Err: err}
	e.log.Error("spark failed an operation for a reason the agent cannot fix", "ref", oe.Ref,
		"error_class", se.ErrorClass, "sqlstate", se.SQLState, "cause", causeChain(err))
	return oe
}

// causeChain renders err and the server-side causes Spark reported with it.
func causeChain(err error) string {
	s := err.Error()
	var se *connect.SparkError
	if errors.As(err, &se) {
		for _, c := range se.Causes {
			s += " | caused by " + c.ExceptionClass + ": " + c.Message
		}
	}
	return s
}

func newRef() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
