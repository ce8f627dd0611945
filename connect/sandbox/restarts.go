package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// restartsFile records the restarts of a workspace's sandbox done by a
// supervising server. It is kept beside state.json, not in it: Start
// rewrites the state of every new server, the record must outlive them.
const restartsFile = "restarts.json"

// Restarts is what "<workspace>/sandbox/restarts.json" holds: how often a
// supervising server restarted the sandbox after it stopped, and when last.
type Restarts struct {
	Count  int       `json:"count"`
	LastAt time.Time `json:"last_at,omitzero"`
	// LastPID is the process that was gone, LastNewPID the one started.
	LastPID    int `json:"last_pid,omitempty"`
	LastNewPID int `json:"last_new_pid,omitempty"`
}

// Alive reports whether the sandbox server recorded in the workspace's
// state is still running: its process exists and is a Spark Connect server
// (a reused pid or a zombie is not). It sends no request to the server.
func Alive(workspace string) bool {
	p, err := WorkspacePaths(workspace)
	if err != nil {
		return false
	}
	st, err := ReadState(p.State)
	return err == nil && processAlive(st.PID) && isSparkServer(st.PID)
}

// ReadRestarts returns the restart record of the workspace's sandbox; none
// yet is a zero record.
func ReadRestarts(workspace string) (Restarts, error) {
	p, err := WorkspacePaths(workspace)
	if err != nil {
		return Restarts{}, err
	}
	b, err := os.ReadFile(filepath.Join(p.Dir, restartsFile))
	if errors.Is(err, os.ErrNotExist) {
		return Restarts{}, nil
	}
	if err != nil {
		return Restarts{}, err
	}
	var r Restarts
	if err := json.Unmarshal(b, &r); err != nil {
		return Restarts{}, fmt.Errorf("parsing %s: %w", filepath.Join(p.Dir, restartsFile), err)
	}
	return r, nil
}

// RecordRestart adds one restart to the workspace's record: the server of
// pid oldPID was gone and newPID replaced it at time at.
func RecordRestart(workspace string, oldPID, newPID int, at time.Time) (Restarts, error) {
	r, err := ReadRestarts(workspace)
	if err != nil {
		r = Restarts{} // an unreadable record starts over rather than blocking restarts
	}
	p, err := WorkspacePaths(workspace)
	if err != nil {
		return r, err
	}
	r.Count++
	r.LastAt, r.LastPID, r.LastNewPID = at.UTC(), oldPID, newPID
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return r, err
	}
	return r, writeFileAtomic(filepath.Join(p.Dir, restartsFile), append(b, '\n'), 0o600)
}
