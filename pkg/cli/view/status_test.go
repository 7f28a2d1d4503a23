package view

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// The status view of a release at each stage, as printed with a fixed clock: each batch's age, how long
// it took (so far, for the running one), and how long the release waited for a person's next.
func TestStatusShowsWhenEachBatchRanAndHowLongItWaited(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release *v1alpha1.Release
		now     time.Duration
		want    string
	}{{
		// The canary waited 3m from Smoked to its pull-in and 6m30s from Baked to batch 2's start; batch 2
		// has run for a minute.
		name: "a canary release midway", release: midwayRelease(), now: 11 * time.Minute,
		want: `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Progressing, batch 2 of 3 (Baking)

BATCH         PODS  TARGET  PHASE    AGE  DURATION  WAITED  UPDATED           READY             PULLED IN
  1 (canary)  1     1       Baked    11m  3m30s     9m30s   [##########] 1/1  [##########] 1/1  [##########] 1/1
> 2           2     3       Baking   60s  60s       0s      [##########] 2/2  [#####.....] 1/2  [##########] 2/2
  3           2     5       Pending  -    -         -       [..........] 0/2  [..........] 0/2  [..........] 0/2

Waiting for: batch 2's pods to become Ready (1/2).
`,
	}, {
		// Two hours on: the ages have grown, the durations and waits have not.
		name: "a finished release", release: finishedRelease(), now: 2 * time.Hour,
		want: `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Succeeded, batch 3 of 3 (Baked)

BATCH         PODS  TARGET  PHASE  AGE   DURATION  WAITED  UPDATED           READY             PULLED IN
  1 (canary)  1     1       Baked  120m  3m30s     9m30s   [##########] 1/1  [##########] 1/1  [##########] 1/1
  2           2     3       Baked  110m  90s       60s     [##########] 2/2  [##########] 2/2  [##########] 2/2
  3           2     5       Baked  107m  70s       80s     [##########] 2/2  [##########] 2/2  [##########] 2/2

Waiting for: nothing: the release Succeeded.
`,
	}, {
		// Batch 2 took 2m, until it failed; the time since is not its.
		name: "a failed release", release: failedRelease(), now: 15 * time.Minute,
		want: `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Failed, batch 2 of 3 (Failed)

BATCH         PODS  TARGET  PHASE    AGE  DURATION  WAITED  UPDATED           READY             PULLED IN
  1 (canary)  1     1       Baked    15m  3m30s     9m30s   [##########] 1/1  [##########] 1/1  [##########] 1/1
> 2           2     3       Failed   5m   2m        0s      [##########] 2/2  [#####.....] 1/2  [##########] 2/2
  3           2     5       Pending  -    -         -       [..........] 0/2  [..........] 0/2  [..........] 0/2

Waiting for: you; it Failed: batch 2: 1 failing pods, 0 tolerated: nginx-b7r5m: container nginx: CrashLoopBackOff. Resume retries the batch; cancel returns the CloneSet to where it was.
Next: kubectl release resume nginx-update -n shop   (or: kubectl release cancel nginx-update -n shop)
`,
	}, {
		// The preview has waited for the switch since it was Smoked at 40s, and still does.
		name: "a blue/green release at its preview", release: blueGreenWaiting(), now: 5 * time.Minute,
		want: `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Progressing, batch 1 of 2 (Smoked)
Blue/green: blue 4 pods, green 2 pods (0 Ready); traffic on blue

BATCH          PODS  TARGET  PHASE    AGE  DURATION  WAITED  UPDATED           READY             PULLED IN
> 1 (preview)  2     2       Smoked   5m   5m        4m20s   [##########] 2/2  [..........] 0/2  [..........] 0/2
  2 (switch)   2     4       Pending  -    -         -       [..........] 0/2  [..........] 0/2  [..........] 0/2

Waiting for: you: the preview is Smoked: green runs beside blue, out of traffic (a preview Service selecting releases.triton.io/batch=preview reaches it).
Next: kubectl release next nginx-update -n shop --expected-batch 1   (switches traffic to green)
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			require.NoError(t, StatusWith(&out, tc.release, Options{Now: t0.Add(tc.now)}))
			assert.Equal(t, tc.want, out.String())
		})
	}
}

// In colour, the phases and what waits for you are coloured, and nothing else changes: the same text,
// the same columns.
func TestStatusInColour(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release *v1alpha1.Release
		want    []string
	}{
		{"midway", midwayRelease(), []string{
			"Phase: \x1b[36mProgressing\x1b[0m, batch 2 of 3 (\x1b[36mBaking\x1b[0m)\n",
			"  1 (canary)  1     1       \x1b[32mBaked\x1b[0m    11m",
			"> 2           2     3       \x1b[36mBaking\x1b[0m   60s",
			"  3           2     5       Pending  -",
			"Waiting for: batch 2's pods to become Ready (1/2).\n",
		}},
		{"finished", finishedRelease(), []string{"Phase: \x1b[32mSucceeded\x1b[0m, batch 3 of 3 (\x1b[32mBaked\x1b[0m)\n"}},
		{"failed", failedRelease(), []string{
			"Phase: \x1b[31mFailed\x1b[0m, batch 2 of 3 (\x1b[31mFailed\x1b[0m)\n",
			"Waiting for: \x1b[31myou; it Failed: batch 2",
		}},
		{"waiting for you", blueGreenWaiting(), []string{
			"> 1 (preview)  2     2       \x1b[33mSmoked\x1b[0m   ",
			"Waiting for: \x1b[1;33myou: the preview is Smoked",
		}},
		{"paused", func() *v1alpha1.Release { r := midwayRelease(); r.Status.Phase = v1alpha1.ReleasePaused; return r }(), []string{
			"Phase: \x1b[33mPaused\x1b[0m",
			"Waiting for: \x1b[1;33myou: the release is paused and its CloneSet held.\x1b[0m\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var colour, plain strings.Builder
			require.NoError(t, StatusWith(&colour, tc.release, Options{Now: t0.Add(11 * time.Minute), Color: true}))
			require.NoError(t, StatusWith(&plain, tc.release, Options{Now: t0.Add(11 * time.Minute)}))
			for _, want := range tc.want {
				assert.Contains(t, colour.String(), want)
			}
			assert.NotContains(t, plain.String(), "\x1b")
			assert.Equal(t, plain.String(), sgr.ReplaceAllString(colour.String(), ""), "colour adds nothing but itself")
		})
	}
}

// Cut to a terminal, a coloured view is cut by the characters shown, not by its escape sequences, and
// every cut line ends its colour.
func TestStatusFitInColourCountsTheCharactersShown(t *testing.T) {
	r := many(20, 9)
	r.Status.Batches[8].Phase = v1alpha1.BatchSmoking
	var colour, plain strings.Builder
	require.NoError(t, StatusWith(&colour, r, Options{Now: t0, Width: 44, Height: 12, Color: true}))
	require.NoError(t, StatusWith(&plain, r, Options{Now: t0, Width: 44, Height: 12}))
	assert.Equal(t, plain.String(), sgr.ReplaceAllString(colour.String(), ""))
	assert.Contains(t, colour.String(), "> 9    1     9       \x1b[36mSmoking\x1b[0m  -    -       …\n")
	assert.Equal(t, 11, strings.Count(colour.String(), "\n"))

	// A cut inside a coloured span ends the colour before the "…".
	r.Status.Phase = v1alpha1.ReleasePaused
	colour.Reset()
	require.NoError(t, StatusWith(&colour, r, Options{Width: 24, Color: true}))
	assert.Contains(t, colour.String(), "Waiting for: \x1b[1;33myou: the r\x1b[0m…\n")
}
