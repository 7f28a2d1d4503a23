package app_test

// The embedded etcd's flags, as triton-apiserver parses them.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/cmd/triton-apiserver/app"
	"github.com/triton-io/triton/pkg/embeddedetcd"
)

func TestFlagDefaults(t *testing.T) {
	o := parse(t)
	require.NoError(t, o.Validate())
	c := o.EmbeddedEtcdConfig()
	assert.Equal(t, app.DefaultEtcdDataDir, c.DataDir)
	assert.Equal(t, int64(2<<30), c.QuotaBackendBytes)
	assert.Equal(t, time.Hour, c.DefragInterval)
	assert.Zero(t, c.AutoCompactionRetention, "the API server compacts every 5 minutes; etcd's own compactor stays off")
	assert.Equal(t, 5*time.Minute, o.Recommended.Etcd.StorageConfig.CompactionInterval)
	require.NoError(t, c.Validate())
}

func TestFlags(t *testing.T) {
	o := parse(t, "--etcd-data-dir=/data", "--etcd-quota-backend-bytes=1073741824", "--etcd-defrag-interval=30m")
	require.NoError(t, o.Validate())
	c := o.EmbeddedEtcdConfig()
	assert.Equal(t, "/data", c.DataDir)
	assert.Equal(t, int64(1<<30), c.QuotaBackendBytes)
	assert.Equal(t, 30*time.Minute, c.DefragInterval)
	require.NoError(t, c.Validate())

	c = parse(t, "--etcd-defrag-interval=0").EmbeddedEtcdConfig()
	assert.Zero(t, c.DefragInterval)
	require.NoError(t, c.Validate())

	// Without the API server's compaction, the member compacts itself.
	o = parse(t, "--etcd-compaction-interval=0")
	require.NoError(t, o.Validate())
	assert.Equal(t, 5*time.Minute, o.EmbeddedEtcdConfig().AutoCompactionRetention)
}

func TestFlagsValidate(t *testing.T) {
	for _, args := range [][]string{
		{"--etcd-quota-backend-bytes=0"},
		{"--etcd-quota-backend-bytes=-1"},
		{"--etcd-quota-backend-bytes=16777215"},
		{"--etcd-quota-backend-bytes=8589934593"},
	} {
		t.Run(args[0], func(t *testing.T) {
			err := parse(t, args...).Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), "--etcd-quota-backend-bytes")
		})
	}
	err := parse(t, "--etcd-defrag-interval=-1s").Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--etcd-defrag-interval")

	for _, q := range []int64{embeddedetcd.MinQuotaBackendBytes, embeddedetcd.MaxQuotaBackendBytes} {
		o := app.NewOptions()
		o.EtcdQuotaBackendBytes = q
		assert.NoError(t, o.Validate())
	}
	// With an external etcd the embedded one's settings are not looked at.
	assert.NoError(t, parse(t, "--etcd-servers=https://etcd-0:2379", "--etcd-quota-backend-bytes=0").Validate())
}
