//go:build e2e

package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// namespaceSeq numbers the namespaces of this test process.
var namespaceSeq atomic.Int64

// Namespace creates a fresh namespace for the test, e2e-<pid>-<n>, and deletes it when the test ends,
// after LogsOf if the test failed.
func Namespace(t *testing.T, admin *Cluster) string {
	t.Helper()
	name := fmt.Sprintf("e2e-%d-%s", os.Getpid(), strconv.FormatInt(namespaceSeq.Add(1), 10))
	ctx := Context(t, 30*time.Second)
	_, err := admin.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			LogsOf(t, name)
		}
		_ = admin.Kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// LogsOf prints, for a failed test, the last lines triton-apiserver and kruise-manager logged about the
// namespace ns: what the controller did (or failed to do) is what explains most failures.
func LogsOf(t *testing.T, ns string) {
	t.Helper()
	for _, component := range []string{"triton-apiserver", "kruise-manager"} {
		data, err := os.ReadFile(filepath.Join(Local, "logs", component+".log"))
		if err != nil {
			continue
		}
		var lines []string
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, ns+"/") || strings.Contains(line, `"`+ns+`"`) {
				lines = append(lines, line)
			}
		}
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("%s on %s (last %d lines):\n%s", component, ns, len(lines), strings.Join(lines, "\n"))
	}
}
