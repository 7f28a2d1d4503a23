//go:build !windows

package app

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyResize sends on c when the terminal changes size (SIGWINCH).
func notifyResize(c chan<- os.Signal) { signal.Notify(c, syscall.SIGWINCH) }

func stopResize(c chan<- os.Signal) { signal.Stop(c) }
