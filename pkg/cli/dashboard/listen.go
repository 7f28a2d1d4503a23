package dashboard

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// Listen binds the dashboard to addr, which must be a loopback address: 127.0.0.1, ::1 or localhost, with
// a port (0: any free one). An address reachable from other machines (0.0.0.0, ::, "", an interface's
// address) is refused: the dashboard acts with the user's credentials. It records the port for the Host
// check and returns the URL to open, token included.
func (s *Server) Listen(addr string) (net.Listener, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("dashboard address %q: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return nil, "", fmt.Errorf("dashboard address %q: the port must be a number from 0 to 65535", addr)
	}
	var network, bind string
	switch host {
	case "127.0.0.1", "localhost":
		// localhost is bound as 127.0.0.1, not resolved: a resolver could answer anything.
		network, bind = "tcp4", "127.0.0.1"
	case "::1":
		network, bind = "tcp6", "::1"
	default:
		return nil, "", fmt.Errorf("dashboard address %q: only a loopback address (127.0.0.1, ::1 or localhost) is allowed", addr)
	}
	l, err := net.Listen(network, net.JoinHostPort(bind, port))
	if err != nil {
		return nil, "", err
	}
	bound := l.Addr().(*net.TCPAddr).Port
	s.allowPort(bound)
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(bind, strconv.Itoa(bound)), Path: "/",
		RawQuery: url.Values{"token": {s.token}}.Encode()}
	return l, u.String(), nil
}
