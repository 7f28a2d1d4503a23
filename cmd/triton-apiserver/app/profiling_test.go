package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/triton-io/triton/cmd/triton-apiserver/app"
)

// enabledProfiling is what the generic API server is configured with for these options: whether it
// serves /debug/pprof, PUT /debug/flags/v and DELETE /metrics, and sets the block profile rate.
func enabledProfiling(t *testing.T, o *app.Options) (profiling, contention bool) {
	t.Helper()
	features := *o.Recommended.Features
	features.EnablePriorityAndFairness = false // needs a kube-apiserver client; not what is tested
	cfg := genericapiserver.NewConfig(serializer.CodecFactory{})
	require.True(t, cfg.EnableProfiling, "k8s.io/apiserver's own default is on: the options must turn it off")
	require.NoError(t, features.ApplyTo(cfg, nil, nil))
	return cfg.EnableProfiling, cfg.EnableContentionProfiling
}

func TestProfilingIsOffByDefault(t *testing.T) {
	o := app.NewOptions()
	assert.False(t, o.Recommended.Features.EnableProfiling)
	profiling, contention := enabledProfiling(t, parse(t))
	assert.False(t, profiling, "no /debug/pprof, /debug/flags/v or DELETE /metrics without --profiling")
	assert.False(t, contention)

	fs := app.NewCommand(context.Background()).Flags()
	require.NotNil(t, fs.Lookup("profiling"), "--profiling must exist")
	assert.Equal(t, "false", fs.Lookup("profiling").DefValue, "--help shows the default as off")
}

func TestProfilingFlagTurnsItOn(t *testing.T) {
	profiling, contention := enabledProfiling(t, parse(t, "--profiling"))
	assert.True(t, profiling)
	assert.False(t, contention)

	profiling, contention = enabledProfiling(t, parse(t, "--profiling", "--contention-profiling"))
	assert.True(t, profiling)
	assert.True(t, contention, "the bench's blocking profiles: --profiling --contention-profiling")

	profiling, _ = enabledProfiling(t, parse(t, "--profiling=false"))
	assert.False(t, profiling)

	o := parse(t, "--profiling")
	require.NoError(t, o.Validate())
	assert.True(t, o.Recommended.Features.EnableProfiling, "Validate keeps it")
}
