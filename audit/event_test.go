package audit

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := Event(ctx, "engine.restarted", nil); !errors.Is(err, ErrNoLog) {
		t.Errorf("event without a log: %v", err)
	}
	if err := l.Event(ctx, "", nil); err == nil {
		t.Error("an event without a kind was accepted")
	}
	if err := l.Event(ctx, "approval.granted", map[string]any{"pipeline": "p", "token": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	call := Record{Session: "s1", RequestID: "9", Tool: "run", Transport: "stdio", Arguments: json.RawMessage(`{"x":1}`)}
	cctx := NewContext(ctx, l, call)
	if err := Event(cctx, "engine.restarted", map[string]any{"environment": "sandbox", "attempt": 2}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), data)
	}
	for i, want := range []string{
		`"event":"approval.granted",`,
		`"fields":{"pipeline":"p","token":"[REDACTED]"}}`,
	} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("event %d: %s lacks %s", i, lines[0], want)
		}
	}
	for _, want := range []string{`"seq":2,`, `"event":"engine.restarted","session_id":"s1","request_id":"9","transport":"stdio","tool":"run",`, `"fields":{"attempt":2,"environment":"sandbox"}}`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("call event %s lacks %s", lines[1], want)
		}
	}
	for i, line := range lines {
		for _, field := range []string{`"arguments"`, `"decision"`, `"duration_ms"`} {
			if strings.Contains(line, field) {
				t.Errorf("event %d carries the call field %s: %s", i, field, line)
			}
		}
	}
	if _, err := Verify(path); err != nil {
		t.Error(err)
	}
}
