// Package access keeps triton-apiserver from being a confused deputy. The server moves CloneSets with
// its own service account, on behalf of whoever calls it; the Guard hands out the CloneSet driver for a
// request only once the caller may update that CloneSet themselves.
package access
