// Package verbs calls a release's subresources (next, pause, resume, cancel) by the verb's name, for the
// plugin's commands and the dashboard alike.
package verbs

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	releasesv1alpha1 "github.com/triton-io/triton/pkg/generated/clientset/versioned/typed/releases/v1alpha1"
)

// ErrUnknown is the error of a verb that is none of the release's subresources.
var ErrUnknown = errors.New("unknown verb")

// Call performs verb on the release name and answers the release as the server answered it.
func Call(ctx context.Context, releases releasesv1alpha1.ReleaseInterface, verb, name string, req *v1alpha1.ReleaseRequest, opts metav1.CreateOptions) (*v1alpha1.Release, error) {
	switch verb {
	case "next":
		return releases.Next(ctx, name, req, opts)
	case "pause":
		return releases.Pause(ctx, name, req, opts)
	case "resume":
		return releases.Resume(ctx, name, req, opts)
	case "cancel":
		return releases.Cancel(ctx, name, req, opts)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknown, verb)
}
