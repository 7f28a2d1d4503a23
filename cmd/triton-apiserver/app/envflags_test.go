package app_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/cmd/triton-apiserver/app"
)

// parseWithEnv parses args as triton-apiserver does, then applies env as its environment.
func parseWithEnv(t *testing.T, env map[string]string, args ...string) (*app.Options, []string, error) {
	t.Helper()
	o := app.NewOptions()
	fs := pflag.NewFlagSet("triton-apiserver", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.AddFlags(fs)
	require.NoError(t, fs.Parse(args))
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	unknown, err := app.ApplyEnv(fs, func(name string) (string, bool) { v, ok := env[name]; return v, ok }, environ)
	return o, unknown, err
}

func TestEnvName(t *testing.T) {
	assert.Equal(t, "TRITON_ETCD_SERVERS", app.EnvName("etcd-servers"))
	assert.Equal(t, "TRITON_CERT_SECRET", app.EnvName("cert-secret"))
	assert.Equal(t, "TRITON_V", app.EnvName("v"))
}

func TestFlagsFromTheEnvironment(t *testing.T) {
	o, unknown, err := parseWithEnv(t, map[string]string{
		"TRITON_ETCD_SERVERS":             "https://etcd-0:2379,https://etcd-1:2379",
		"TRITON_CERT_SECRET":              "triton-apiserver-tls",
		"TRITON_CA_BUNDLE_APISERVICES":    "v1alpha1.releases.triton.io",
		"TRITON_PROFILING":                "true",
		"TRITON_ETCD_DEFRAG_INTERVAL":     "30m",
		"TRITON_KUBE_API_QPS":             "50",
		"TRITON_ETCD_QUOTA_BACKEND_BYTES": "1073741824",
	})
	require.NoError(t, err)
	assert.Empty(t, unknown)
	assert.False(t, o.EmbeddedEtcd())
	assert.Equal(t, []string{"https://etcd-0:2379", "https://etcd-1:2379"}, o.Recommended.Etcd.StorageConfig.Transport.ServerList)
	assert.Equal(t, "triton-apiserver-tls", o.Certs.Secret)
	assert.Equal(t, []string{"v1alpha1.releases.triton.io"}, o.Certs.APIServices)
	assert.True(t, o.Recommended.Features.EnableProfiling)
	assert.Equal(t, "30m0s", o.EtcdDefragInterval.String())
	assert.Equal(t, float32(50), o.KubeAPIQPS)
	assert.Equal(t, int64(1<<30), o.EtcdQuotaBackendBytes)
}

func TestTheCommandLineWinsOverTheEnvironment(t *testing.T) {
	o, _, err := parseWithEnv(t, map[string]string{
		"TRITON_SECURE_PORT":  "7443",
		"TRITON_ETCD_SERVERS": "https://from-env:2379",
		"TRITON_CERT_HOSTS":   "from-env.example",
	}, "--secure-port=9443", "--etcd-servers=https://from-flag:2379", "--cert-hosts=a.example", "--cert-hosts=b.example")
	require.NoError(t, err)
	assert.Equal(t, 9443, o.Recommended.SecureServing.BindPort)
	assert.Equal(t, []string{"https://from-flag:2379"}, o.Recommended.Etcd.StorageConfig.Transport.ServerList)
	assert.Equal(t, []string{"a.example", "b.example"}, o.Certs.Hosts, "a list from the command line is not added to")
}

// An empty value is a value: it sets the flag to empty (here: no --cert-secret).
func TestAnEmptyVariableSetsTheFlagToEmpty(t *testing.T) {
	o, _, err := parseWithEnv(t, map[string]string{"TRITON_ETCD_DATA_DIR": ""})
	require.NoError(t, err)
	assert.Equal(t, "", o.EtcdDataDir)
	assert.ErrorContains(t, o.Validate(), "--etcd-data-dir", "validated like the flag")
}

func TestABadValueNamesTheVariableAndTheFlag(t *testing.T) {
	for name, value := range map[string]string{
		"TRITON_SECURE_PORT":          "https",
		"TRITON_PROFILING":            "yes please",
		"TRITON_ETCD_DEFRAG_INTERVAL": "an hour",
	} {
		_, _, err := parseWithEnv(t, map[string]string{name: value})
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
		assert.Contains(t, err.Error(), `"`+value+`"`)
	}
	_, _, err := parseWithEnv(t, map[string]string{"TRITON_SECURE_PORT": "https", "TRITON_KUBE_API_BURST": "many"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--secure-port", "every bad variable at once")
	assert.Contains(t, err.Error(), "--kube-api-burst")
}

func TestVariablesNamingNoFlagAreIgnoredAndReported(t *testing.T) {
	o, unknown, err := parseWithEnv(t, map[string]string{
		"TRITON_ETCD_SERVER": "https://typo:2379", // --etcd-servers, misspelt
		"TRITON_FAILPOINTS":  "",                  // read by the server itself, not a flag
		"OTHER_SECURE_PORT":  "1",
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"TRITON_ETCD_SERVER"}, unknown)
	assert.True(t, o.EmbeddedEtcd(), "the misspelt variable changed nothing")
	assert.Equal(t, app.DefaultSecurePort, o.Recommended.SecureServing.BindPort)
}

// No two flags share a variable, and every flag of the command (klog's -v too) has one.
func TestEveryFlagHasAVariableOfItsOwn(t *testing.T) {
	cmd := app.NewCommand(context.Background())
	seen := map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		name := app.EnvName(f.Name)
		if other, ok := seen[name]; ok {
			t.Errorf("--%s and --%s are both %s", other, f.Name, name)
		}
		seen[name] = f.Name
	})
	assert.Contains(t, seen, "TRITON_ETCD_SERVERS")
	assert.Contains(t, seen, "TRITON_V")
}

// The command applies the environment before it validates and runs: a bad value stops it with a usage
// error (exit code 2), a good one reaches the options.
func TestTheCommandReadsTheEnvironment(t *testing.T) {
	run := func(t *testing.T, args ...string) (*cobra.Command, error) {
		cmd := app.NewCommand(context.Background())
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		ran := false
		cmd.RunE = func(*cobra.Command, []string) error { ran = true; return nil }
		err := cmd.Execute()
		assert.Equal(t, err == nil, ran, "the server runs unless the command line or the environment is bad")
		return cmd, err
	}
	// --help and --version are asked on the command line only: the server runs.
	t.Setenv("TRITON_HELP", "true")
	t.Setenv("TRITON_VERSION", "true")
	_, err := run(t)
	require.NoError(t, err)

	t.Setenv("TRITON_SECURE_PORT", "not-a-port")
	_, err = run(t)
	var usage app.UsageError
	require.True(t, errors.As(err, &usage), "a usage error: %v", err)
	assert.Contains(t, err.Error(), "TRITON_SECURE_PORT")

	t.Setenv("TRITON_SECURE_PORT", "7443")
	t.Setenv("TRITON_ETCD_SERVERS", "https://etcd-0:2379")
	cmd, err := run(t, "--etcd-servers=https://flag:2379")
	require.NoError(t, err)
	assert.Equal(t, "7443", cmd.Flags().Lookup("secure-port").Value.String())
	assert.Equal(t, "[https://flag:2379]", cmd.Flags().Lookup("etcd-servers").Value.String())
}
