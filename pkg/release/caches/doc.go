// Package caches holds the server's informers of CloneSets, their pods and their ControllerRevisions, trimmed
// to what a release reads (of a pod no release can act on, a stub: stubs.go), and answers cloneset.Reader
// from them: the verbs and the controller read a CloneSet and its pods there instead of asking
// kube-apiserver every time.
package caches
