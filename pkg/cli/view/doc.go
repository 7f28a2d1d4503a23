// Package view renders releases for people: the plan as a table of batches with progress bars, what a
// release waits for and which command moves it on, and its history. It is pure: a Release in, text
// out; the kubectl-release plugin does the I/O.
package view
