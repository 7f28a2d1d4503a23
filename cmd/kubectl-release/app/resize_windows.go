//go:build windows

package app

import "os"

// notifyResize: Windows has no SIGWINCH; the view takes the console's size at its next change.
func notifyResize(c chan<- os.Signal) {}

func stopResize(c chan<- os.Signal) {}
