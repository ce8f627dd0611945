package pipeline

import (
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreMemo makes cmp compare pipelines by their declarations, not by the
// scan memo a Store attaches.
var ignoreMemo = cmpopts.IgnoreUnexported(Pipeline{})
