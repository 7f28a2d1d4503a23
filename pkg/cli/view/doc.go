// Package view renders releases for people: the plan as a table of batches with progress bars, when each
// batch ran and how long it waited for a person, its pods, the analysis checks of its current batch, what
// a release waits for and which command moves it on, and its history. It is pure: a Release, a clock and
// whether to colour in, text out; the kubectl-release plugin does the I/O and decides on colour (UseColor).
package view
