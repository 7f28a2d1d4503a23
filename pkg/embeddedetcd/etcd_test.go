package embeddedetcd

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	put := func(s *Server) {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 10 * time.Second})
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Put(ctx, "/registry/k", "v")
		require.NoError(t, err)
	}
	get := func(s *Server) string {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 10 * time.Second})
		require.NoError(t, err)
		defer c.Close()
		resp, err := c.Get(ctx, "/registry/k")
		require.NoError(t, err)
		if len(resp.Kvs) == 0 {
			return ""
		}
		return string(resp.Kvs[0].Value)
	}

	s, err := Start(ctx, dir)
	require.NoError(t, err)
	put(s)
	s.Stop()

	s, err = Start(ctx, dir)
	require.NoError(t, err)
	defer s.Stop()
	require.Equal(t, "v", get(s))
}

func TestSecondMemberOnSameDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Start(ctx, dir)
	require.NoError(t, err)
	defer s.Stop()
	_, err = Start(ctx, dir)
	require.Error(t, err, "two members must never share one data dir")
}
