// Package resize is the admission webhook that keeps a release's partition right across a change of its
// CloneSet's replicas (invariant 9), in kube-apiserver's request that makes the change, so that kruise
// never sees the new replicas with the old partition.
//
// A CloneSet's partition counts the pods kept at the old revision. A release sets it to the replicas less
// the pods its batches approved; were the replicas to grow alone, kruise would create every pod added at
// the release's revision before the release could count them in. So:
//
//   - an update of the CloneSet itself (kubectl edit, apply, a GitOps tool) that leaves the partition below
//     the release's floor for the new replicas gets it raised in the same write (a JSON patch);
//   - a scale-out through the scale subresource (kubectl scale, a HorizontalPodAutoscaler) cannot carry
//     the partition, so the webhook raises the CloneSet's partition first, then lets the scale through.
//     A partition above the floor is safe (fewer pods updated, never more); the controller lowers it to
//     the floor once the new replicas are stored, or if the scale never lands.
//
// The webhook only ever raises a partition, and only of a CloneSet held by a release that limits its
// pods; anything else is allowed as it is. Its configuration has failurePolicy Ignore and match
// conditions that send it only the requests that can matter, so a CloneSet needs no triton-apiserver
// once its release has ended (invariant 10). While triton-apiserver is down a scale-out goes through
// unchanged, and the controller replaces, afterwards, pods at the release's revision beyond the approved.
//
// It acts only for kube-apiserver: a review is authenticated and authorized as any request to the server
// (delegated to kube-apiserver: a non-resource "post" on Path, granted to the identity kube-apiserver
// presents to webhooks, Caller), and checked again by the webhook itself, before anything is read; anyone
// else gets 401 or 403 and learns nothing. It reads CloneSets from the server's informer cache, so that a
// scale-out of a CloneSet no release holds costs no request to kube-apiserver, and writes through clients
// of its own (NewClients), so that it never waits behind the verbs or makes them wait. It reads a release
// only while the storage gate is open (Gated). As a Scale carries nothing to tell a held CloneSet by, the
// leader keeps the scale-out webhook's match condition listing the CloneSets releases hold (Scope).
package resize
