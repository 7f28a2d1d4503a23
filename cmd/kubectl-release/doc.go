// Command kubectl-release is the `kubectl release` plugin: the status of a release as a live table of
// batches, the action verbs, the plan of a release before it exists, its history, and shortcuts that
// create releases. Put it on the PATH; kubectl finds it by its name. Linked or copied as
// kubectl_complete-release, it is the completion kubectl (1.26 and later) asks for `kubectl release <TAB>`.
package main
