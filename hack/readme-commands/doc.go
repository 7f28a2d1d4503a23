// Command readme-commands checks the commands a README shows (every line of its sh blocks, every "$ " line
// of its console blocks) against what they name: `kubectl release` and `kubectl-release` commands parse
// with the plugin's own command tree and flags, `make` targets exist in the Makefile, `triton-apiserver`
// flags exist, and the repository paths a command names exist. make verify runs it on README.md, so a
// renamed flag, target or file cannot leave a README command behind.
package main
