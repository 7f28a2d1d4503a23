package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A failed e2e test's output as go test prints it: its failure, then the component logs the framework
// quotes when the test has failed, which push the failure out of a log cut to its end.
const failedOutput = `=== RUN   TestBackToBackReleases
=== PAUSE TestBackToBackReleases
=== CONT  TestBackToBackReleases
    pipeline_test.go:40: 
        	Error Trace:	/src/test/e2e/pipeline_test.go:40
        	Error:      	Not equal: 
        	            	expected: "Succeeded"
        	            	actual  : "Failed"
        	            	
        	            	Diff:
        	            	--- Expected
        	            	+++ Actual
        	            	@@ -1 +1 @@
        	            	-Succeeded
        	            	+Failed
        	Test:       	TestBackToBackReleases
        	Messages:   	round 3
    namespace.go:34: triton-apiserver on e2e-1-58 (last 2 lines):
        I1207 04:28:08.1 controller.go:10] "reconciled" release="e2e-1-58/app-000-v3"
        I1207 04:28:08.2 controller.go:10] "reconciled" release="e2e-1-58/app-000-v3"
    namespace.go:34: kruise-manager on e2e-1-58 (last 1 lines):
        I1207 04:28:14.8 cloneset_status.go:56] "To update CloneSet status" cloneSet="e2e-1-58/app-000"
--- FAIL: TestBackToBackReleases (27.62s)`

// The failure is kept, without testify's diff (expected and actual say it) and its repeated test name.
func TestMessagesKeepTheFailureAndLeaveOutTheComponentLogs(t *testing.T) {
	got := messages(strings.Split(failedOutput, "\n"), 40)
	assert.Equal(t, []string{
		`    pipeline_test.go:40: `,
		`        	Error Trace:	/src/test/e2e/pipeline_test.go:40`,
		`        	Error:      	Not equal: `,
		`        	            	expected: "Succeeded"`,
		`        	            	actual  : "Failed"`,
		`        	Messages:   	round 3`,
	}, got)
}

func TestMessagesKeepTheLastLines(t *testing.T) {
	got := messages(strings.Split(failedOutput, "\n"), 2)
	assert.Equal(t, []string{`        	            	actual  : "Failed"`, `        	Messages:   	round 3`}, got)
}
