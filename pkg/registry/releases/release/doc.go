// Package release stores Releases in etcd through the generic registry: the main resource, its status
// subresource, and the table kubectl prints.
package release
