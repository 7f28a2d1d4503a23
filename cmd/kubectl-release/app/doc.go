// Package app is the kubectl-release command line.
package app
