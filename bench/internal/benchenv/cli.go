package benchenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CLI runs the pinned spark-pipelines with args from the folder dir, in a
// process group of its own. Its error quotes the end of the CLI's output,
// with the sandbox's token redacted.
func (s *Sandbox) CLI(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, s.Install.SparkPipelines, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), s.Install.Env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ownGroup(cmd)
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		text := strings.ReplaceAll(out.String(), s.Token, "<redacted>")
		if len(text) > 3000 {
			text = "…" + text[len(text)-3000:]
		}
		return fmt.Errorf("spark-pipelines %s: %w\n%s", args[0], err, text)
	}
	return nil
}
