//go:build !race

package caches

// raceDetector is true in a test binary built with -race.
const raceDetector = false
