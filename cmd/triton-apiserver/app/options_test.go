package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/cmd/triton-apiserver/app"
)

// parse returns the options after the given command line, parsed as triton-apiserver parses it.
func parse(t *testing.T, args ...string) *app.Options {
	t.Helper()
	o := app.NewOptions()
	fs := pflag.NewFlagSet("triton-apiserver", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.AddFlags(fs)
	require.NoError(t, fs.Parse(args))
	return o
}

func TestNewOptionsDefaults(t *testing.T) {
	o := app.NewOptions()
	assert.Equal(t, 8443, o.Recommended.SecureServing.BindPort)
	assert.Equal(t, app.DefaultSecurePort, o.Recommended.SecureServing.BindPort)
	assert.Equal(t, "/var/lib/triton-apiserver/etcd", o.EtcdDataDir)
	assert.Equal(t, app.DefaultEtcdDataDir, o.EtcdDataDir)
	assert.Equal(t, "/registry/releases.triton.io", o.Recommended.Etcd.StorageConfig.Prefix)
	assert.Empty(t, o.Recommended.Etcd.StorageConfig.Transport.ServerList)
	assert.True(t, o.EmbeddedEtcd(), "without --etcd-servers the server runs its own etcd")
}

func TestEmbeddedEtcd(t *testing.T) {
	assert.True(t, parse(t).EmbeddedEtcd())
	assert.True(t, parse(t, "--etcd-data-dir=/data").EmbeddedEtcd())

	o := parse(t, "--etcd-servers=https://etcd-0:2379,https://etcd-1:2379")
	assert.False(t, o.EmbeddedEtcd())
	assert.Equal(t, []string{"https://etcd-0:2379", "https://etcd-1:2379"}, o.Recommended.Etcd.StorageConfig.Transport.ServerList)
}

func TestValidate(t *testing.T) {
	t.Run("defaults, embedded etcd", func(t *testing.T) {
		o := parse(t)
		require.NoError(t, o.Validate())
		assert.Empty(t, o.Recommended.Etcd.StorageConfig.Transport.ServerList,
			"Validate must not leave its placeholder etcd server behind")
		assert.True(t, o.EmbeddedEtcd(), "still embedded after Validate")
		// Validating twice gives the same answer.
		require.NoError(t, o.Validate())
		assert.True(t, o.EmbeddedEtcd())
	})

	t.Run("embedded etcd with a data dir of one's own", func(t *testing.T) {
		o := parse(t, "--etcd-data-dir="+t.TempDir())
		require.NoError(t, o.Validate())
		assert.True(t, o.EmbeddedEtcd())
	})

	for _, dir := range []string{"", "   "} {
		t.Run("embedded etcd without a data dir "+`"`+dir+`"`, func(t *testing.T) {
			o := parse(t, "--etcd-data-dir="+dir)
			err := o.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), "--etcd-data-dir")
			assert.Empty(t, o.Recommended.Etcd.StorageConfig.Transport.ServerList,
				"a failed Validate must not leave its placeholder etcd server behind either")
		})
	}

	t.Run("external etcd needs no data dir", func(t *testing.T) {
		o := parse(t, "--etcd-servers=https://etcd-0:2379", "--etcd-data-dir=")
		require.NoError(t, o.Validate())
		assert.Equal(t, []string{"https://etcd-0:2379"}, o.Recommended.Etcd.StorageConfig.Transport.ServerList,
			"Validate keeps the caller's etcd servers")
		assert.False(t, o.EmbeddedEtcd())
	})

	t.Run("bad secure port", func(t *testing.T) {
		for _, port := range []string{"-1", "0", "70000", "65536"} {
			err := parse(t, "--secure-port="+port).Validate()
			require.Error(t, err, "--secure-port=%s", port)
			assert.Contains(t, err.Error(), "--secure-port", "--secure-port=%s", port)
		}
	})

	t.Run("self-managed serving certificate", func(t *testing.T) {
		t.Setenv("POD_NAMESPACE", "platform")
		o := parse(t, "--cert-secret=triton-tls", "--ca-bundle-apiservices=v1alpha1.releases.triton.io")
		require.NoError(t, o.Validate())
		ns, name := o.Certs.SecretRef()
		assert.Equal(t, []string{"platform", "triton-tls"}, []string{ns, name}, "the namespace from POD_NAMESPACE")
		assert.Contains(t, o.Certs.Policy().Hosts, "triton-apiserver.platform.svc", "the name kube-apiserver verifies")
		ns, _ = parse(t, "--cert-secret=other/triton-tls").Certs.SecretRef()
		assert.Equal(t, "other", ns)

		for args, want := range map[string]string{
			"--cert-secret=x --tls-cert-file=/a.crt --tls-private-key-file=/a.key": "cannot both be set",
			"--ca-bundle-apiservices=v1alpha1.releases.triton.io":                  "need --cert-secret",
			"--cert-secret=Bad_Name":                                    "--cert-secret's name",
			"--cert-secret=x --cert-validity=10m --cert-ca-validity=5m": "--cert-validity",
			"--cert-secret=x --cert-ca-validity=1s":                     "--cert-ca-validity",
		} {
			err := parse(t, strings.Fields(args)...).Validate()
			require.Error(t, err, args)
			assert.Contains(t, err.Error(), want, args)
		}
	})

	t.Run("every bad option at once", func(t *testing.T) {
		err := parse(t, "--etcd-data-dir=", "--secure-port=70000").Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--etcd-data-dir")
		assert.Contains(t, err.Error(), "--secure-port")
	})
}

func TestCommandFlags(t *testing.T) {
	cmd := app.NewCommand(context.Background())
	fs := cmd.Flags()
	for _, name := range []string{"etcd-data-dir", "etcd-servers", "etcd-prefix", "secure-port", "kubeconfig", "v", "vmodule"} {
		assert.NotNil(t, fs.Lookup(name), "--%s must exist", name)
	}
	assert.Nil(t, fs.Lookup("log_dir"), "only klog's verbosity flags are exposed")

	require.NoError(t, fs.Parse([]string{
		"--etcd-data-dir=/data/etcd",
		"--etcd-servers=https://etcd-0:2379",
		"--secure-port=9443",
		"--kubeconfig=/etc/triton/kubeconfig",
	}))
	assert.Equal(t, "/data/etcd", fs.Lookup("etcd-data-dir").Value.String())
	assert.Equal(t, "[https://etcd-0:2379]", fs.Lookup("etcd-servers").Value.String())
	assert.Equal(t, "9443", fs.Lookup("secure-port").Value.String())
	assert.Equal(t, "/etc/triton/kubeconfig", fs.Lookup("kubeconfig").Value.String())

	assert.Equal(t, "/var/lib/triton-apiserver/etcd", fs.Lookup("etcd-data-dir").DefValue)
	assert.Equal(t, "8443", fs.Lookup("secure-port").DefValue)
	assert.Contains(t, fs.Lookup("kubeconfig").Usage, "CloneSets", "--kubeconfig says what it is for")
}

// execute runs the command with args and a context that is already canceled, so that a command line
// wrongly accepted cannot start a server for long.
func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cmd := app.NewCommand(ctx)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestCommandUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error message
	}{
		{"unknown flag", []string{"--no-such-flag"}, "no-such-flag"},
		{"negative port", []string{"--secure-port=-1"}, "--secure-port"},
		{"port out of range", []string{"--secure-port=70000"}, "--secure-port"},
		{"port not a number", []string{"--secure-port=https"}, "secure-port"},
		{"positional argument", []string{"positional"}, "positional"},
		{"empty data dir, embedded etcd", []string{"--etcd-data-dir="}, "--etcd-data-dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Validation runs before anything starts; a data dir of the test's own keeps a
			// wrongly accepted command line away from the real default.
			args := tc.args
			if !strings.HasPrefix(args[0], "--etcd-data-dir") {
				args = append([]string{"--etcd-data-dir=" + t.TempDir()}, args...)
			}
			out, err := execute(t, args...)
			require.Error(t, err)
			assert.True(t, errors.As(err, &app.UsageError{}), "want a UsageError (exit code 2), got %T: %v", err, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, out, "SilenceUsage: no usage dump on a bad command line")
		})
	}
}

func TestCommandHelp(t *testing.T) {
	out, err := execute(t, "--help")
	require.NoError(t, err)
	assert.Contains(t, out, "--etcd-data-dir")
	assert.Contains(t, out, "--etcd-servers")
	assert.Contains(t, out, "--secure-port")
}
