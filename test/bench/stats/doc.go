// Package stats summarizes benchmark samples: medians, percentiles and ratios to a baseline measured in
// the same run, and writes them as a markdown table and as JSON with the raw samples.
package stats
