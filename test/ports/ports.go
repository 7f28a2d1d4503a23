// Package ports hands tests a loopback TCP port to give a server they start by number.
//
// A port taken from the kernel with Listen(":0") comes from the ephemeral range, the same range
// outgoing connections draw their local ports from: between closing that listener and the server's
// own bind, any connection (an etcd member dialling its peers, a client) may take it, and the server
// fails with "address already in use". The ports here lie below the ephemeral range, where no
// outgoing connection is given a port.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// lowest is the first port handed out: above the well-known ports most services listen on.
const lowest = 10000

// Free is a loopback port below the ephemeral range that nothing listens on right now.
func Free(t testing.TB) int {
	t.Helper()
	top := ephemeralStart() - 1
	for range 100 {
		p := lowest + rand.IntN(top-lowest+1)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		if err := l.Close(); err != nil {
			continue // the port may still be held
		}
		return p
	}
	t.Fatalf("no free loopback port in %d-%d after 100 tries", lowest, top)
	return 0
}

// ephemeralStart is the first port of the kernel's ephemeral range (Linux's default where unreadable).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > lowest+1000 {
				return n
			}
		}
	}
	return 32768
}

// String is Free as the decimal text flags take.
func String(t testing.TB) string { return fmt.Sprint(Free(t)) }
