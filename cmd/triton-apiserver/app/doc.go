// Package app holds triton-apiserver's command line: its options, their validation, and how they
// become a server configuration.
package app
