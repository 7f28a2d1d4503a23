package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/test/ports"
)

// With --logging-format=json the server logs one JSON object a line, which a log collector parses
// without rules of its own. The server runs until it looks for the cluster it serves (there is none
// here): it has started its embedded etcd and logged that by then.
func TestJSONLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	args := []string{"--etcd-data-dir=" + t.TempDir(), "--secure-port=" + ports.String(t), "--bind-address=127.0.0.1"}

	code, stdout, stderr := run(t, bin, append([]string{"--logging-format=json", "-v=1"}, args...)...)
	require.Equal(t, 1, code, "without a cluster the server stops with an error; stderr:\n%s", stderr)
	var messages []string
	for _, line := range strings.Split(stdout+stderr, "\n") {
		// The last line is the command's own error, as with the text format.
		if line == "" || strings.HasPrefix(line, "triton-apiserver: ") {
			continue
		}
		// The server's lines (klog's JSON: ts in seconds, msg, v) and its embedded etcd's (zap's JSON).
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), "a line that is not a JSON object: %q", line)
		assert.Contains(t, entry, "ts", "each line has its time: %q", line)
		msg, _ := entry["msg"].(string)
		assert.NotEmpty(t, msg, "each line has its message: %q", line)
		messages = append(messages, msg)
	}
	assert.Contains(t, messages, "Embedded etcd started", "the server's own lines are JSON")

	// The default stays klog's text: the same line is not JSON.
	_, stdout, stderr = run(t, bin, args...)
	assert.Contains(t, stdout+stderr, "] \"Embedded etcd started\" ")

	// An unknown format is a bad command line.
	code, _, stderr = run(t, bin, append([]string{"--logging-format=xml"}, args...)...)
	assert.Equal(t, 2, code, "stderr:\n%s", stderr)
	assert.Contains(t, stderr, "Unsupported log format")
}
