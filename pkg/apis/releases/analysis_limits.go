package releases

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The bounds of what a release records of its analysis, shared by validation (which refuses a status
// beyond them) and the controller (which keeps within them).
const (
	// MaxMeasurements is how many measurements a check keeps per batch (status.batches[].analysis[]
	// .measurements), newest last; the controller drops the oldest.
	MaxMeasurements = 10
	// MaxMeasurementValueLength bounds a measurement's value, in bytes.
	MaxMeasurementValueLength = 256
	// MaxAnalysisStatusBytes bounds the analysis of every batch of a release together
	// (status.batches[].analysis, as JSON; see AnalysisStatusBytes): a release of many batches cannot keep
	// MaxMeasurements measurements of every check in every batch. The controller keeps within it by
	// dropping measurements, those of the earliest batches first, the current batch's last.
	MaxAnalysisStatusBytes = 40 << 10
)

// AnalysisStatusBytes is the size of the analysis of every batch together, as MaxAnalysisStatusBytes
// counts it: the sum of each batch's analysis as JSON.
func AnalysisStatusBytes(batches []ReleaseBatch) int {
	total := 0
	for i := range batches {
		if len(batches[i].Analysis) == 0 {
			continue
		}
		raw, err := json.Marshal(batches[i].Analysis)
		if err != nil {
			continue
		}
		total += len(raw)
	}
	return total
}

// Clip makes s fit a status field of limit bytes: valid UTF-8, control characters (newlines, escapes) as
// spaces, cut between runes and ending in more when cut.
func Clip(s string, limit int, more string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= limit {
		return s
	}
	cut := max(limit-len(more), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

// MaxPodHealthRatio bounds podHealth.maxRatio.
const MaxPodHealthRatio = 1000

// ParseRatio reads a podHealth maxRatio: a decimal of at most 4 digits before the point and 3 after it (no
// sign, no exponent), greater than 0 and at most MaxPodHealthRatio.
func ParseRatio(s string) (float64, error) {
	whole, frac, dotted := strings.Cut(s, ".")
	if whole == "" || len(whole) > 4 || (dotted && (frac == "" || len(frac) > 3)) || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("must be a decimal such as \"1.5\": up to 4 digits, a point and up to 3 digits")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if v <= 0 || v > MaxPodHealthRatio {
		return 0, fmt.Errorf("must be greater than 0 and at most %d", MaxPodHealthRatio)
	}
	return v, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
