// Command readme-commands checks the commands the docs show (every line of their sh blocks, every "$ "
// line of their console blocks, and inline code that runs make, kubectl release or triton-apiserver)
// against what they name: `kubectl release` and `kubectl-release` commands name the plugin's own
// commands, and their flags parse (inline code may hold placeholders: there only the flags' names must
// exist); `make` targets exist in the Makefile; `triton-apiserver` commands and flags exist; and the
// repository paths a command names exist. make verify runs it on README.md and docs/*.md, so a renamed
// flag, target or file cannot leave a command in the docs behind.
package main
