package eval

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// server is one `sdp-mcp serve --sandbox-only --transport http` process.
type server struct {
	cmd     *exec.Cmd
	url     string
	done    chan error
	stopped sync.Once
}

var listeningRE = regexp.MustCompile(`msg=listening url=(http://\S+)`)

// sparkTokenEnv carries the shared sandbox's token to each server.
const sparkTokenEnv = "SDP_EVAL_SANDBOX_TOKEN"

// startServer starts the server of a task on a free loopback port and waits
// until it listens. Its log goes to logPath.
func startServer(ctx context.Context, bin, configPath, workspace, logPath, sparkToken string) (*server, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--workspace", workspace, "serve", "--sandbox-only", "--transport", "http",
		"--listen", "127.0.0.1:0", "--config", configPath)
	cmd.Env = append(os.Environ(), sparkTokenEnv+"="+sparkToken)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(logf, pipe)
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-found:
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("sdp-mcp serve exited before listening (%v): see %s", err, logPath)
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("sdp-mcp serve did not listen within 30s: see %s", logPath)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop interrupts the server and waits for it (killing it after 15s).
// Later calls do nothing.
func (s *server) stop() {
	s.stopped.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// ScorerClient is the MCP client name the scorer uses, so that its calls
// are told apart from the agent's in the audit log.
const ScorerClient = "sdp-mcp-eval"

// dialMCP opens an initialized MCP session to url.
func dialMCP(ctx context.Context, url, name string) (*client.Client, error) {
	c, err := client.NewStreamableHttpClient(url)
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: name, Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		c.Close()
		return nil, fmt.Errorf("MCP initialize: %w", err)
	}
	return c, nil
}

// callTool calls a tool and returns its structured result and whether it
// was a tool error (with the error's text).
func callTool(ctx context.Context, c *client.Client, tool string, args any) (map[string]any, string, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return nil, "", err
	}
	if res.IsError {
		msg := ""
		for _, ct := range res.Content {
			if t, ok := ct.(mcp.TextContent); ok {
				msg += t.Text
			}
		}
		if msg == "" {
			msg = "tool error"
		}
		return nil, msg, nil
	}
	out, _ := res.StructuredContent.(map[string]any)
	if out == nil {
		return nil, "", errors.New(tool + ": no structured result")
	}
	return out, "", nil
}
