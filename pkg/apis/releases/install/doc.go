// Package install registers the releases.triton.io group in a scheme.
package install
