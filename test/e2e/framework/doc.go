//go:build e2e

// Package framework is what the end-to-end tests of test/e2e are written with: a user's view of the local
// control plane that hack/local-up.sh brings up (Connect, Cluster), a namespace of the test's own
// (Namespace), the tutorial's CloneSet and releases of it (NewCloneSet, MakeCloneSet, Nginx, UpdateTo,
// ScaleTo, StartedRelease), all three in one call (Setup), and waits that poll until what they wait for
// is true or fail the test with what they saw last (WaitUntil, WaitRelease, WaitPods, WaitCloneSetIs, ...).
// It has the build tag e2e, like the tests: `go build ./...` leaves it out.
//
// A test that works only in namespaces of its own (Namespace, Setup) and changes nothing shared calls
// t.Parallel first: go test runs those together (hack/test-e2e.sh: -parallel 4, E2E_PARALLEL) once the
// others have run one at a time. A test that stops or restarts a component of the bed, changes something
// cluster-wide (a webhook configuration, an admission policy binding, a CRD, the server's certificates)
// or measures the bed's server (its memory, its metrics) must not call it.
//
// When a test fails, Namespace's cleanup prints what triton-apiserver and kruise-manager logged about the
// test's namespace (LogsOf) before it deletes the namespace.
package framework
