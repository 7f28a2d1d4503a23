// Package embeddedetcd runs a single-member etcd inside the server process, so that one
// triton-apiserver replica needs no etcd cluster of its own. Its data lives in a directory and
// survives restarts.
//
// The member has an explicit backend quota, and a loop keeps it in shape: it defragments it when much of
// its database is free pages, and when a NOSPACE alarm has stopped every write it compacts, defragments
// and disarms the alarm by itself as soon as enough space is free. Its size, quota and alarm are on the
// server's /metrics (triton_embedded_etcd_*).
package embeddedetcd
