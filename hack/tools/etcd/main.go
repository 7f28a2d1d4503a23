// Command etcd is the etcd server of the local control plane (etcd v3.7, as k8s.io/apiserver v0.37 uses).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
