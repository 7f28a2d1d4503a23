package servingcert

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type countingListener struct{ n atomic.Int32 }

func (l *countingListener) Enqueue() { l.n.Add(1) }

// Run, as every replica runs it: makes the Secret, serves it, injects its CA; when the Secret is deleted it
// makes a new CA, serves it (the TLS stack is told) and injects it.
func TestRunServesAndInjectsAndStartsOverWhenTheSecretIsDeleted(t *testing.T) {
	injector, _, _ := injector(t, apiService(nil), nil)
	s := &Server{Store: &Store{Client: injector.Kube, Namespace: "triton-system", Name: "triton-apiserver-tls",
		Policy: policy, Trusted: Trusted(injector)}, Injector: injector}
	listener := &countingListener{}
	s.AddListener(listener)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { s.Run(ctx, 1); close(done) }()

	injectedNow := func() []byte {
		apiservice, webhooks := injected(t, injector)
		for _, w := range webhooks {
			if !bytes.Equal(w, apiservice) {
				return nil
			}
		}
		return apiservice
	}
	var first *Bundle
	require.Eventually(t, func() bool {
		first = s.Serving()
		return first != nil && bytes.Equal(injectedNow(), first.CABundle())
	}, 10*time.Second, 10*time.Millisecond, "served and injected")
	cert, key := s.CurrentCertKeyContent()
	assert.Equal(t, first.Data()[CertKey], cert)
	assert.Equal(t, first.Data()[KeyKey], key)
	assert.Positive(t, listener.n.Load(), "the TLS stack was told")

	told := listener.n.Load()
	require.NoError(t, injector.Kube.CoreV1().Secrets("triton-system").Delete(ctx, "triton-apiserver-tls", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		b := s.Serving()
		return !b.CAs[0].Equal(first.CAs[0]) && bytes.Equal(injectedNow(), b.CABundle())
	}, 10*time.Second, 10*time.Millisecond, "a new CA served and injected")
	assert.Greater(t, listener.n.Load(), told)
	data := secretDataOf(t, injector)
	assert.Equal(t, s.Serving().Data()[CertKey], data[CertKey], "the new Secret is what is served")

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
}

func secretDataOf(t *testing.T, i *Injector) map[string][]byte {
	t.Helper()
	secret, err := i.Kube.CoreV1().Secrets("triton-system").Get(context.Background(), "triton-apiserver-tls", metav1.GetOptions{})
	require.NoError(t, err)
	return secret.Data
}
