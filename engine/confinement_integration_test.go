//go:build integration

package engine

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// recordedRequest is one request message the engine sent to Spark.
type recordedRequest struct {
	method string
	msg    proto.Message
}

// stringField is one string value found in a request, with the path of
// protobuf message and field names leading to it.
type stringField struct {
	path     []string // full names of enclosing messages, then "field"
	field    string   // full name of the field holding the value
	value    string
	inSQLCmd bool // somewhere under a SqlCommand
}

// walkStrings visits every string field (singular, repeated, map keys and
// values) of m, recursively.
func walkStrings(m protoreflect.Message, path []string, inSQLCmd bool, visit func(stringField)) {
	name := string(m.Descriptor().FullName())
	path = append(path[:len(path):len(path)], name)
	inSQLCmd = inSQLCmd || name == "spark.connect.SqlCommand"
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		visitValue := func(kind protoreflect.Kind, v protoreflect.Value) {
			switch kind {
			case protoreflect.StringKind:
				visit(stringField{path: path, field: string(fd.FullName()), value: v.String(), inSQLCmd: inSQLCmd})
			case protoreflect.BytesKind:
				// Bytes could smuggle text too: check them as strings.
				visit(stringField{path: path, field: string(fd.FullName()), value: string(v.Bytes()), inSQLCmd: inSQLCmd})
			case protoreflect.MessageKind, protoreflect.GroupKind:
				walkStrings(v.Message(), path, inSQLCmd, visit)
			}
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				visitValue(fd.Kind(), l.Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				visitValue(fd.MapKey().Kind(), k.Value())
				visitValue(fd.MapValue().Kind(), mv)
				return true
			})
		default:
			visitValue(fd.Kind(), v)
		}
		return true
	})
}

const (
	wrapOpen  = "SELECT * FROM (\n"
	wrapClose = "\n) AS "
)

// indexes returns every index of sub in s.
func indexes(s, sub string) []int {
	var out []int
	for i := 0; ; {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return out
		}
		out = append(out, i+j)
		i += j + 1
	}
}

// enclosed returns the text between head and the next tail around position
// i of s, or ok=false when i is not inside head...tail.
func enclosed(s string, i int, head, tail string) (segment string, ok bool) {
	open := strings.LastIndex(s[:i], head)
	if open < 0 {
		return "", false
	}
	start := open + len(head)
	if start > i || strings.Contains(s[start:i], tail) {
		return "", false
	}
	end := strings.Index(s[i:], tail)
	if end < 0 {
		return "", false
	}
	return s[start : i+end], true
}

var streamRE = regexp.MustCompile(`(?i)\bSTREAM\s*\(([^()]*)\)`)

// normalized undoes the rewrites the preview and count queries make to a
// body (STREAM(x) becomes x, names get quoted and qualified with
// spark_catalog), so that a rewritten body can be compared with the
// original.
func normalized(body string) string {
	body = streamRE.ReplaceAllString(body, "$1")
	body = strings.ReplaceAll(body, "`", "")
	return strings.ReplaceAll(body, "spark_catalog.", "")
}

// headerAllowed says whether the occurrence of a condition at i lies in the
// generated SDP file header of a dataset, "-- sdp-mcp:v1 {json}", as a JSON
// string (escaped, so it cannot end the line comment).
func headerAllowed(s string, i int, x pipeline.Expectation) bool {
	start := strings.LastIndex(s[:i], "\n") + 1
	end := strings.Index(s[i:], "\n")
	if end < 0 {
		end = len(s) - i
	}
	line := s[start : i+end]
	rest, ok := strings.CutPrefix(line, "-- sdp-mcp:v1 ")
	if !ok || strings.ContainsAny(line, "\r\u2028\u2029") || !json.Valid([]byte(rest)) {
		return false
	}
	var q strings.Builder
	enc := json.NewEncoder(&q)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(x.Condition)
	return strings.Contains(rest, `"condition":`+strings.TrimSuffix(q.String(), "\n"))
}

// conditionAllowed says whether the occurrence of a condition's marker at i
// lies inside one of the shapes pipeline/render.go (and the engine's checks)
// generate: "(<cond>) IS TRUE", or the RAISE_ERROR message of a fail
// expectation, 'sdp-mcp expectation <name> failed on ...: <cond>'.
func conditionAllowed(s string, i int, x pipeline.Expectation) bool {
	shape := "(" + x.Condition + ") IS TRUE"
	for _, j := range indexes(s, shape) {
		if j <= i && i < j+len(shape) {
			return true
		}
	}
	if x.OnViolation == pipeline.Fail {
		head := "RAISE_ERROR('sdp-mcp expectation " + sqlEscape(x.Name) + " failed on "
		tail := ": " + sqlEscape(x.Condition) + "')"
		for _, j := range indexes(s, head) {
			end := strings.Index(s[j:], tail)
			if end >= 0 && j <= i && i < j+end+len(tail) && !strings.ContainsAny(s[j+len(head):j+end], `'\`) {
				return true
			}
		}
	}
	return false
}

// sqlEscape escapes s as pipeline's quoteString does inside '...'.
func sqlEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

// TestConfinement runs a whole cycle through the engine — previews,
// validation, a run — while recording every request sent to Spark, and
// checks that the agent's text reaches Spark only inside the generated
// wrappers.
func TestConfinement(t *testing.T) {
	var (
		mu       sync.Mutex
		requests []recordedRequest
	)
	observe := connect.WithRequestObserver(func(method string, req proto.Message) {
		mu.Lock()
		defer mu.Unlock()
		requests = append(requests, recordedRequest{method, proto.Clone(req)})
	})
	e := newEnv(t, 12*time.Minute)
	eng := e.engine(Config{ConnectOptions: []connect.Option{observe}})
	e.exec("CREATE TABLE "+e.src+".readings (id INT, v INT) USING parquet",
		"INSERT INTO "+e.src+".readings VALUES (1, 10), (2, 20), (3, 30)")
	src := e.src + ".readings"

	// Every body carries a unique literal; every condition a unique number.
	bodies := map[string]string{ // marker -> body
		"body-7f3a-tv":    "SELECT id, v, 'body-7f3a-tv' AS tag FROM " + src,
		"body-7f3a-mv1":   "SELECT id, v, tag, 'body-7f3a-mv1' AS tag1 FROM staged",
		"body-7f3a-mv2":   "SELECT count(*) AS n, 'body-7f3a-mv2' AS tag2 FROM clean",
		"body-7f3a-flow":  "SELECT id, v, 'body-7f3a-flow' AS tag FROM STREAM(" + src + ")",
		"body-7f3a-adhoc": "SELECT max(v) AS top, 'body-7f3a-adhoc' AS tag3 FROM clean",
	}
	conds := map[string]pipeline.Expectation{ // marker -> expectation
		"7031001": {Name: "warn_pos", Condition: "v > -7031001", OnViolation: pipeline.Warn},
		"7031002": {Name: "drop_small", Condition: "v < 7031002", OnViolation: pipeline.Drop},
		"7031003": {Name: "fail_id", Condition: "id > -7031003", OnViolation: pipeline.Fail},
		"7031004": {Name: "st_drop", Condition: "v < 7031004", OnViolation: pipeline.Drop},
		"7031005": {Name: "st_fail", Condition: "id > -7031005", OnViolation: pipeline.Fail},
	}
	p := pipe(t, "confined", []pipeline.Dataset{
		{Name: "staged", Kind: pipeline.TemporaryView, Query: bodies["body-7f3a-tv"]},
		{Name: "clean", Kind: pipeline.MaterializedView, Query: bodies["body-7f3a-mv1"],
			Expectations: []pipeline.Expectation{conds["7031001"], conds["7031002"], conds["7031003"]}},
		{Name: "summary", Kind: pipeline.MaterializedView, Query: bodies["body-7f3a-mv2"]},
		{Name: "events", Kind: pipeline.StreamingTable,
			Expectations: []pipeline.Expectation{conds["7031004"], conds["7031005"]}},
	}, pipeline.Flow{Name: "events_in", Target: "events", Query: bodies["body-7f3a-flow"]})

	for _, req := range []PreviewRequest{{Dataset: "summary"}, {Dataset: "clean"}, {Dataset: "events"}, {Query: bodies["body-7f3a-adhoc"]}} {
		res, err := eng.Preview(e.ctx, p, req)
		if err != nil {
			t.Fatalf("preview %+v: %v", req, err)
		}
		t.Logf("preview %q%q: %d rows", req.Dataset, req.Query, len(res.Rows))
	}
	v, err := eng.Validate(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatalf("validate: %+v", v.Problems)
	}
	res, err := eng.Run(e.ctx, p, RunOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("run failed: %+v", res.Failure)
	}
	e.checkRows("SELECT count(*) FROM "+e.schema+".events", [][]any{{int64(3)}})

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d requests recorded", len(requests))
	byMethod := map[string]int{}
	seenKind := map[string]int{} // where agent text was seen
	seenMarker := map[string]int{}
	rewritten := 0
	sqlCmds := 0
	// deviations counts agent text found outside the exact shapes of the
	// brief but inside another generated shape that is checked exactly.
	deviations := map[string]int{}
	type shape struct{ head, tail string }
	countShape := func(alias string, xs ...pipeline.Expectation) shape {
		checks := make([]string, len(xs))
		for i, x := range xs {
			checks[i] = fmt.Sprintf("(%s) IS TRUE AS `e%d`", x.Condition, i)
		}
		return shape{"SELECT " + strings.Join(checks, ", ") + " FROM (\n", "\n) AS `" + alias + "`"}
	}
	countShapes := map[string]shape{
		"body-7f3a-mv1":  countShape("clean", conds["7031001"], conds["7031002"], conds["7031003"]),
		"body-7f3a-flow": countShape("events_in", conds["7031004"], conds["7031005"]),
	}
	for n, r := range requests {
		byMethod[r.method]++
		sqlCmd := false
		walkStrings(r.msg.ProtoReflect(), nil, false, func(f stringField) {
			sqlCmd = sqlCmd || f.inSQLCmd
			where := fmt.Sprintf("request %d (%s) field %s (path %s)", n, r.method, f.field, strings.Join(f.path, " > "))
			carries := false
			for m, body := range bodies {
				for _, i := range indexes(f.value, m) {
					carries = true
					seenMarker[m]++
					seg, ok := enclosed(f.value, i, wrapOpen, wrapClose)
					if !ok {
						if cs, isCount := countShapes[m]; isCount {
							// pipeline.ViolationCountSQL (run's expectation
							// counts) wraps the body differently.
							if seg, ok = enclosed(f.value, i, cs.head, cs.tail); ok {
								deviations["body in the expectation-count wrapper 'SELECT (<cond>) IS TRUE AS `eN`, ... FROM (\n<body>\n) AS `<alias>`' (pipeline/violations.go), "+r.method+" "+f.field]++
							}
						}
					}
					switch {
					case !ok:
						t.Errorf("FINDING: body marker %s outside the wrapper in %s:\n%s", m, where, f.value)
					case seg == body:
					case normalized(seg) == normalized(body):
						// Previews and counts rewrite bodies (STREAM(x) ->
						// x, names quoted and qualified).
						rewritten++
					default:
						t.Errorf("FINDING: body %s changed inside the wrapper in %s: %q, want %q", m, where, seg, body)
					}
				}
			}
			for m, x := range conds {
				for _, i := range indexes(f.value, m) {
					carries = true
					seenMarker[m]++
					switch {
					case conditionAllowed(f.value, i, x):
					case f.field == "spark.connect.PipelineCommand.DefineSqlGraphElements.sql_text" && headerAllowed(f.value, i, x):
						deviations["condition JSON-encoded in the '-- sdp-mcp:v1 {...}' file header comment (pipeline/file.go), "+r.method+" "+f.field]++
					default:
						t.Errorf("FINDING: condition marker %s (%s) outside the generated filter/count shapes in %s:\n%s", m, x.Condition, where, f.value)
					}
				}
			}
			if !carries {
				return
			}
			if f.inSQLCmd {
				t.Errorf("FINDING: a SqlCommand carries agent text: %s:\n%s", where, f.value)
			}
			switch f.field {
			case "spark.connect.SQL.query":
				switch r.method {
				case "/spark.connect.SparkConnectService/ExecutePlan":
					seenKind["ExecutePlan Relation.sql.query"]++
				case "/spark.connect.SparkConnectService/AnalyzePlan":
					seenKind["AnalyzePlan Relation.sql.query"]++
				default:
					t.Errorf("FINDING: agent text sent through %s: %s", r.method, where)
				}
			case "spark.connect.PipelineCommand.DefineSqlGraphElements.sql_text":
				seenKind["DefineSqlGraphElements.sql_text"]++
			default:
				t.Errorf("FINDING: agent text in an unexpected field: %s:\n%s", where, f.value)
			}
		})
		if sqlCmd {
			sqlCmds++
		}
	}
	// Only requests whose SqlCommand holds a string are counted (the walk
	// visits set fields only).
	t.Logf("requests carrying a SqlCommand: %d (none may carry agent text)", sqlCmds)
	if sqlCmds == 0 {
		t.Error("no SqlCommand seen: the SqlCommand check would pass vacuously")
	}
	for d, n := range deviations {
		t.Logf("FINDING (known deviation, exact shape checked): %d× %s", n, d)
	}
	t.Logf("requests by method: %v", byMethod)
	t.Logf("agent text seen in: %v; markers: %v; bodies rewritten inside a wrapper (previews, counts): %d", seenKind, seenMarker, rewritten)
	for _, k := range []string{"ExecutePlan Relation.sql.query", "AnalyzePlan Relation.sql.query", "DefineSqlGraphElements.sql_text"} {
		if seenKind[k] == 0 {
			t.Errorf("no agent text seen in %s: the check would pass vacuously", k)
		}
	}
	for m := range bodies {
		if seenMarker[m] == 0 {
			t.Errorf("body marker %s never seen in a request", m)
		}
	}
	for m := range conds {
		if seenMarker[m] == 0 {
			t.Errorf("condition marker %s never seen in a request", m)
		}
	}
}

// TestConfinementChecker makes sure the shape checks above reject text
// outside the shapes, so that TestConfinement cannot pass by accident.
func TestConfinementChecker(t *testing.T) {
	body := "SELECT 'm-1' AS x"
	x := pipeline.Expectation{Name: "e", Condition: "x > 'm-2'", OnViolation: pipeline.Fail}
	for _, s := range []string{
		"SELECT 'm-1' AS x",
		"SELECT * FROM (\nSELECT 1\n) AS `a` UNION SELECT 'm-1' AS x",
		"SELECT * FROM (SELECT 'm-1' AS x) AS `a`",
	} {
		if seg, ok := enclosed(s, strings.Index(s, "m-1"), wrapOpen, wrapClose); ok {
			t.Errorf("enclosed(%q) = %q, want outside", s, seg)
		}
	}
	good := "SELECT * FROM (\n" + body + "\n) AS `a`"
	if seg, ok := enclosed(good, strings.Index(good, "m-1"), wrapOpen, wrapClose); !ok || seg != body {
		t.Errorf("enclosed(%q) = %q, %v, want the body", good, seg, ok)
	}
	for _, s := range []string{
		"SELECT x > 'm-2'",
		"WHERE (x > 'm-2') OR TRUE",
		"RAISE_ERROR('sdp-mcp expectation e failed on dataset d: x > 'm-2'')",
	} {
		i := strings.Index(s, "m-2")
		if conditionAllowed(s, i, x) || headerAllowed(s, i, x) {
			t.Errorf("condition in %q accepted", s)
		}
	}
	for _, s := range []string{
		"WHERE (x > 'm-2') IS TRUE",
		"WHERE CASE WHEN (x > 'm-2') IS TRUE THEN TRUE ELSE RAISE_ERROR('sdp-mcp expectation e failed on dataset d: x > \\'m-2\\'') END",
	} {
		for _, i := range indexes(s, "m-2") {
			if !conditionAllowed(s, i, x) {
				t.Errorf("condition at %d of %q rejected", i, s)
			}
		}
	}
	if !headerAllowed(`-- sdp-mcp:v1 {"condition":"x > 'm-2'"}`, 30, x) || headerAllowed(`-- other {"condition":"x > 'm-2'"}`, 25, x) {
		t.Error("headerAllowed misjudges the header line")
	}
}
