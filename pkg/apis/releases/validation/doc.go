// Package validation checks Releases and ReleaseRequests in their internal form, after defaulting.
// Every error carries the exact field path, so the API server answers 422 with something a caller can
// act on, and nothing is stored.
package validation
