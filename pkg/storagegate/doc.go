// Package storagegate answers requests that need etcd with 503 at once while etcd cannot be reached,
// instead of letting each of them wait for the generic server's request timeout (a minute, measured: a
// GET of a release answered 504 after 60 s while etcd was down). A background probe reads a key from
// etcd every interval; while it fails the gate is closed, and /readyz says so.
package storagegate
