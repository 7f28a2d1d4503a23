package v1alpha1

import corev1 "k8s.io/api/core/v1"

// The labels, annotations and conditions a release puts on its CloneSet and its pods: what users' Services
// and queries, the kubectl release plugin and other tools read there.

const (
	// ReadinessGate is the pod condition through which a release pulls pods into traffic: a pod that
	// carries it as a readiness gate is Ready (and a Service's ready endpoint) only once the release sets
	// it True.
	ReadinessGate corev1.PodConditionType = "apps.triton.io/ready"

	// OwnerAnnotation, on a CloneSet, carries the name of the release that drives it.
	OwnerAnnotation = "releases.triton.io/release"

	// ScaleOutAnnotation, on a CloneSet a release holds, is written by the resize webhook together with the
	// partition it raises ahead of a scale-out through the scale subresource (an HPA, kubectl scale), before
	// the new replicas are stored: JSON of the replicas before and after and when, as in
	// {"from":6,"to":12,"at":"2026-12-07T08:29:58Z"}. While the CloneSet still has "from" replicas, for at
	// most a short grace, the release counts its partition at "to" replicas, so that the raised partition
	// is not taken for drift and lowered again before the scale lands; once the replicas move, or the grace
	// is over, the annotation is dropped.
	ScaleOutAnnotation = "releases.triton.io/scale-out"

	// RestartedAtAnnotation, on the pod template, makes a Restart release a new revision.
	RestartedAtAnnotation = "releases.triton.io/restartedAt"

	// IntentAnnotation stamps a CloneSet with the release state (UID/resourceVersion) it was last written
	// for, so that a write derived from an older state of the release is never applied after a newer one.
	IntentAnnotation = "releases.triton.io/intent"

	// TemplateHashAnnotation is a hash of the pod template the release last gave the CloneSet: the stored
	// template carries API defaults, so comparing templates field by field would rewrite it every time
	// (drift is found by a looser comparison, which ignores the fields the release leaves unset).
	TemplateHashAnnotation = "releases.triton.io/template-hash"

	// StoredTemplateAnnotation is a hash of the pod template the server stored when it did not keep the
	// release's template as given (an admission webhook changed a field the release sets): while the
	// CloneSet still has exactly that template, it counts as the release's and is not rewritten.
	StoredTemplateAnnotation = "releases.triton.io/stored-template-hash"

	// PullInLabel, on a CloneSet (not its template), says a release holds it and pulls its new pods into
	// traffic: the MutatingAdmissionPolicy triton-pull-in-gate (artifacts/deploy/pull-in-gate.yaml), in
	// kube-apiserver, gives every pod created for such a CloneSet the readiness gate. Once the release
	// lets the CloneSet go the label goes too, and new pods become Ready without triton-apiserver.
	PullInLabel = "releases.triton.io/pull-in"

	// HoldLabel, on a pod, makes kruise hold it before deleting or updating it in place (CloneSet lifecycle
	// hooks) until the release has pulled it out of traffic and removed the label.
	HoldLabel = "apps.triton.io/hold"

	// HooksAnnotation, on a CloneSet a release holds, records what the release added to the CloneSet's
	// lifecycle hooks, so that it takes away exactly that when it lets go and the hooks are as they were
	// before the release. It is JSON: for each of preDelete and inPlaceUpdate, what the release made of it —
	// "hook" (the whole hook: there was none), "labelsHandler" (the hook had none), "markPodNotReady" (it was
	// false) — as in {"inPlaceUpdate":["hook"],"preDelete":["markPodNotReady"]}. The hold label in a
	// labelsHandler (HoldLabel) is always the release's. It is written in the same patch as the hooks, and
	// goes in the patch that takes them away. It is on the CloneSet, the thing restored, rather than in the
	// release's status: a release that takes over a CloneSet another left held finds it there.
	//
	// What the typed CloneSet cannot tell is not restored byte for byte: a markPodNotReady that was false or
	// left out is written back as false, and a CloneSet that had no spec.lifecycle is left with an empty one
	// (spec.lifecycle is never removed whole: it may have hooks the kruise-api types do not know).
	//
	// A CloneSet whose hooks carry the hold label without this record was held by a server from before it:
	// the hold label goes, and so does a hook left with no handler (such a server made it); markPodNotReady is
	// left as it is, since what it was is not known.
	HooksAnnotation = "releases.triton.io/hooks-added"

	// ReleaseLabel, on a pod, names the release that brought it, so that a Service, a dashboard or a query
	// can select a release's pods. It stays after the release ends: the pod is still the one it brought.
	ReleaseLabel = "releases.triton.io/release"

	// BatchLabel, on a pod, is the index ("1", "2", ...) of the batch of ReleaseLabel's release that brought
	// it: a preview Service that selects the canary selects batch "1".
	BatchLabel = "releases.triton.io/batch"

	// PreviewBatch is BatchLabel's value on every green pod of a blue/green release, so that a preview
	// Service selects green before the switch.
	PreviewBatch = "preview"

	// NotReadyKey is the key a release lists, with the user agent "triton", in the message of a pod's
	// KruisePodReady condition ({"userAgent":"triton","key":"releases.triton.io/blue-green"}) to keep the
	// pod out of traffic without its readiness gate: the blue pods of a switched blue/green release, and a
	// release's pods made without the readiness gate until their batch is pulled in. A release removes
	// only its own key.
	NotReadyKey = "releases.triton.io/blue-green"
)
