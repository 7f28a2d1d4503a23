// Package embeddedetcd runs an etcd member inside the server process, so that triton-apiserver needs no
// etcd cluster of its own. Its data lives in a directory and survives restarts. By default the member is
// alone (one replica); with a Cluster it is one of several, one per replica, that peer over TLS with
// certificates they issue themselves from a shared CA, and a member that lost its data is added again by
// the others (cluster.go, rejoin.go).
//
// The member has an explicit backend quota, and a loop keeps it in shape: it defragments it when much of
// its database is free pages, and when a NOSPACE alarm has stopped every write it compacts, defragments
// and disarms the alarm by itself as soon as enough space is free. Its size, quota and alarm are on the
// server's /metrics (triton_embedded_etcd_*).
package embeddedetcd
