package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestDescribeMapsErrorsToExitCodesAndAdvice(t *testing.T) {
	releases := schema.GroupResource{Group: "releases.triton.io", Resource: "releases"}
	for _, tc := range []struct {
		err    error
		code   int
		advice string
	}{
		{apierrors.NewConflict(releases, "web", errors.New("expected batch 1, but the current batch is 2")), ExitRefused, "kubectl release status web"},
		{apierrors.NewForbidden(releases, "web", errors.New(`User "bob" cannot create resource "releases/next"`)), ExitNotAllowed, "Ask for a role"},
		{apierrors.NewForbidden(schema.GroupResource{Group: "apps.kruise.io", Resource: "clonesets"}, "nginx", errors.New(`cannot update resource "clonesets"`)), ExitNotAllowed, "update on the CloneSet"},
		{apierrors.NewUnauthorized("no"), ExitNotAllowed, "credentials"},
		{apierrors.NewNotFound(releases, "web"), ExitNotFound, "kubectl get releases"},
		{apierrors.NewInvalid(schema.GroupKind{Group: "releases.triton.io", Kind: "Release"}, "web", field.ErrorList{field.Required(field.NewPath("spec", "replicas"), "")}), ExitInvalid, "spec.replicas"},
		{apierrors.NewBadRequest("bad body"), ExitInvalid, "bad body"},
		{apierrors.NewInternalError(errors.New("etcd down")), ExitError, "etcd down"},
		{errors.New("dial tcp 127.0.0.1:9: connection refused"), ExitError, "connection refused"},
		{usageError("--mode must be Manual or Auto"), ExitUsage, "kubectl release --help"},
		{&exitError{code: ExitReleaseFailed, err: errors.New("release web is Canceled")}, ExitReleaseFailed, "Canceled"},
	} {
		code, message := describe(tc.err)
		assert.Equal(t, tc.code, code, "%v", tc.err)
		assert.Contains(t, message, tc.advice, "%v", tc.err)
	}
}

func TestRunPrintsOneLineAndTheExitCode(t *testing.T) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := Run(context.Background(), []string{"scale", "nginx"}, streams)
	assert.Equal(t, ExitUsage, code)
	assert.Equal(t, "error: scale needs --replicas N (see 'kubectl release --help')\n", errOut.String())
	assert.Empty(t, out.String())

	errOut.Reset()
	code = Run(context.Background(), []string{"update", "nginx", "--mode", "Sometimes", "--image", "a=b"}, streams)
	assert.Equal(t, ExitUsage, code)
	assert.Equal(t, 1, strings.Count(errOut.String(), "\n"))
}
