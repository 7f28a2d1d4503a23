package servingcert

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// ahead is how far the clock of a replica that runs ahead is off: more than Backdate plus
// ClockSkewTolerance, so that what it makes is not valid yet anywhere else.
const ahead = 2 * time.Hour

func concat(bundles ...[]byte) []byte {
	var out []byte
	for _, b := range bundles {
		out = append(out, b...)
	}
	return out
}

func TestNewCertificatesAreValidFromAnHourAgo(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	require.NotNil(t, b)
	assert.Equal(t, t0.Add(-time.Hour), b.CAs[0].NotBefore)
	assert.Equal(t, t0.Add(-time.Hour), b.Cert.NotBefore)
	assert.Equal(t, t0.Add(policy.CAValidity), b.CAs[0].NotAfter, "the life Policy gives counts from now")
	assert.Equal(t, t0.Add(policy.CertValidity), b.Cert.NotAfter)
	assert.True(t, verifies(t, b.CABundle(), b.Cert, t0.Add(-59*time.Minute)), "a verifier whose clock is 59 minutes behind")
	assert.False(t, verifies(t, b.CABundle(), b.Cert, t0.Add(-61*time.Minute)))

	// A renewed certificate, and a new CA, likewise.
	at := NextCheck(b)
	assert.Equal(t, t0.Add(policy.CertValidity*2/3), at, "two thirds from when it was made, not from its NotBefore")
	next, _ := renew(t, b, at, never)
	require.NotNil(t, next)
	assert.Equal(t, at.Add(-time.Hour), next.Cert.NotBefore)
	caDue := renewalTime(b.CAs[0])
	assert.Equal(t, t0.Add(policy.CAValidity*2/3), caDue)
	rotated, err := b.withNewCA(policy, caDue)
	require.NoError(t, err)
	assert.Equal(t, caDue.Add(-time.Hour), rotated.CAs[0].NotBefore)

	// Short lives (the e2e rotation test: 90 s and 60 s) are renewed in their time, not at once.
	short := Policy{CAValidity: 90 * time.Second, CertValidity: 60 * time.Second, Hosts: policy.Hosts}
	s, _, err := Renew(nil, short, t0, never)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(40*time.Second), NextCheck(s))
	assert.Equal(t, t0.Add(60*time.Second), renewalTime(s.CAs[0]))
	again, why, err := Renew(s, short, t0.Add(39*time.Second), never)
	require.NoError(t, err)
	assert.Nil(t, again, why)
}

// A certificate from before Backdate was an hour (a minute early), with a life shorter than an hour: two
// thirds from its NotBefore, as then.
func TestRenewalTimeOfACertificateBackdatedLess(t *testing.T) {
	c := &x509.Certificate{NotBefore: t0.Add(-time.Minute), NotAfter: t0.Add(59 * time.Minute)}
	assert.Equal(t, t0.Add(39*time.Minute), renewalTime(c))
}

// A bundle that a replica whose clock runs 2 h ahead made: by this clock its CA is not valid yet (nor is
// kube-apiserver's). It is replaced at once by a bundle valid from an hour ago, not kept.
func TestACAFromAClockAheadIsReplacedNotKept(t *testing.T) {
	future, _ := renew(t, nil, t0.Add(ahead), never)
	require.True(t, future.CAs[0].NotBefore.After(t0.Add(ClockSkewTolerance)))

	next, why := renew(t, future, t0, always)
	require.NotNil(t, next, "a CA valid only in 55 minutes is not kept")
	assert.Equal(t, "the CA is not valid yet by this clock", why)
	require.Len(t, next.CAs, 1, "the future CA is dropped")
	assert.False(t, next.CAs[0].Equal(future.CAs[0]))
	assert.Equal(t, t0.Add(-time.Hour), next.CAs[0].NotBefore)
	assert.True(t, verifies(t, next.CABundle(), next.Cert, t0))

	// And the replacement is kept by the replica whose clock runs ahead: it is valid by its clock too.
	kept, why := renew(t, next, t0.Add(ahead), always)
	assert.Nil(t, kept, "no flapping: %s", why)

	// Within the tolerance a CA is kept: a clock 1 h 4 min ahead makes a CA valid from 4 minutes on.
	near, _ := renew(t, nil, t0.Add(time.Hour+4*time.Minute), never)
	kept, why = renew(t, near, t0, always)
	assert.Nil(t, kept, why)
	far, _ := renew(t, nil, t0.Add(time.Hour+ClockSkewTolerance+time.Second), never)
	replaced, _ := renew(t, far, t0, always)
	assert.NotNil(t, replaced)
}

// The replica ahead rotated the CA: its new CA is first in the bundle, the serving certificate is still
// the old CA's and valid. A new CA of this clock takes the place of the future one; the serving
// certificate stays until the new CA is trusted.
func TestAFutureCAFromARotationIsReplacedAndTheServingCertificateKept(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	rotated, err := b.withNewCA(policy, t0.Add(ahead))
	require.NoError(t, err)
	require.Len(t, rotated.CAs, 2)

	at := t0.Add(time.Minute)
	next, why := renew(t, rotated, at, always)
	require.NotNil(t, next)
	assert.Equal(t, "the CA is not valid yet by this clock", why)
	require.Len(t, next.CAs, 2)
	assert.False(t, next.CAs[0].Equal(rotated.CAs[0]), "not the future CA")
	assert.Equal(t, at.Add(-time.Hour), next.CAs[0].NotBefore)
	assert.True(t, next.CAs[1].Equal(b.CAs[0]), "the old CA stays")
	assert.True(t, next.Cert.Equal(b.Cert), "the serving certificate stays the old CA's")
	assert.False(t, Trusts(next.CABundle(), rotated.CAs[0]))

	step2, why := renew(t, next, at, always)
	require.NotNil(t, step2)
	assert.Equal(t, "the new CA is trusted", why)
	assert.NoError(t, step2.Cert.CheckSignatureFrom(next.CAs[0]))
}

// A serving certificate a replica ahead made from a valid CA: a new one, from the same CA, at once.
func TestAFutureServingCertificateIsReplaced(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	future, err := b.withCert(policy, t0.Add(ahead))
	require.NoError(t, err)
	next, why := renew(t, future, t0, never)
	require.NotNil(t, next)
	assert.Equal(t, "the serving certificate is not valid yet by this clock", why)
	assert.True(t, next.CAs[0].Equal(b.CAs[0]), "same CA")
	assert.Equal(t, t0.Add(-time.Hour), next.Cert.NotBefore)
	assert.True(t, verifies(t, next.CABundle(), next.Cert, t0))
}

// An older CA in the bundle that is not valid yet leaves it.
func TestAFutureOlderCALeavesTheBundle(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	future, _ := renew(t, nil, t0.Add(ahead), never)
	mixed := *b
	mixed.CAs = []*x509.Certificate{b.CAs[0], future.CAs[0]}
	next, why := renew(t, &mixed, t0, never)
	require.NotNil(t, next)
	assert.Equal(t, "a CA not valid yet by this clock left the bundle", why)
	require.Len(t, next.CAs, 1)
	assert.True(t, next.CAs[0].Equal(b.CAs[0]))
	assert.True(t, next.Cert.Equal(b.Cert))
}

func TestNewestCAIgnoresCAsNotValidYet(t *testing.T) {
	valid, _ := renew(t, nil, t0, never)
	future, _ := renew(t, nil, t0.Add(ahead), never)
	assert.True(t, NewestCA(future.CABundle(), t0).IsZero(), "a CA 55 minutes ahead is no CA yet")
	assert.Equal(t, valid.CAs[0].NotBefore, NewestCA(concat(future.CABundle(), valid.CABundle()), t0))
	assert.Equal(t, future.CAs[0].NotBefore, NewestCA(future.CABundle(), t0.Add(ahead)), "by a clock that far ahead it counts")
}

// A caBundle that holds a CA from a replica whose clock runs ahead is not "newer": the valid bundle
// replaces it. A bundle of only such CAs is injected nowhere.
func TestInjectReplacesAFutureCABundleAndNeverInjectsOne(t *testing.T) {
	valid, _ := renew(t, nil, t0, never)
	future, _ := renew(t, nil, t0.Add(ahead), never)
	i, _, _ := injector(t, apiService(future.CABundle()), future.CABundle())
	i.Now = func() time.Time { return t0 }
	require.NoError(t, i.Inject(context.Background(), valid.CABundle()))
	apiservice, webhooks := injected(t, i)
	assert.Equal(t, valid.CABundle(), apiservice)
	assert.Equal(t, [][]byte{valid.CABundle(), valid.CABundle()}, webhooks)

	i, _, _ = injector(t, apiService(valid.CABundle()), valid.CABundle())
	i.Now = func() time.Time { return t0 }
	err := i.Inject(context.Background(), future.CABundle())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no CA valid by this clock")
	apiservice, webhooks = injected(t, i)
	assert.Equal(t, valid.CABundle(), apiservice)
	assert.Equal(t, valid.CABundle(), webhooks[0])
	assert.Nil(t, webhooks[1])
}

// The server never prefers a certificate not valid yet to one that is, whichever it read first.
func TestServeNeverPrefersACertificateNotValidYet(t *testing.T) {
	valid, _ := renew(t, nil, t0, never)
	future, _ := renew(t, nil, t0.Add(ahead), never)
	newer, _ := renew(t, nil, t0.Add(time.Minute), never)
	s := &Server{Store: &Store{Namespace: "triton-system", Name: "triton-apiserver-tls", Now: func() time.Time { return t0.Add(time.Minute) }}}
	listener := &countingListener{}
	s.AddListener(listener)

	s.serve(valid)
	s.serve(future)
	assert.True(t, s.Serving().Cert.Equal(valid.Cert), "a valid certificate is not given up for a future one")
	s.serve(newer)
	assert.True(t, s.Serving().Cert.Equal(newer.Cert), "between valid ones, the newer")
	s.serve(valid)
	assert.True(t, s.Serving().Cert.Equal(newer.Cert), "serving moves only forward")
	assert.Equal(t, int32(2), listener.n.Load())

	// With nothing else, a future certificate is served, and given up for the first valid one.
	s = &Server{Store: s.Store}
	s.serve(future)
	assert.True(t, s.Serving().Cert.Equal(future.Cert))
	s.serve(valid)
	assert.True(t, s.Serving().Cert.Equal(valid.Cert))
}

// Ensure, as every replica runs it, on a Secret that a replica whose clock runs ahead wrote: the Secret
// is rewritten with a bundle valid by this clock, which is what is served.
func TestEnsureReplacesASecretFromAClockAhead(t *testing.T) {
	future, _ := renew(t, nil, t0.Add(ahead), never)
	client := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "triton-apiserver-tls", Namespace: "triton-system"},
		Data: future.Data()})
	b, err := store(client, t0).Ensure(context.Background())
	require.NoError(t, err)
	assert.False(t, b.CAs[0].Equal(future.CAs[0]))
	assert.Equal(t, t0.Add(-time.Hour), b.CAs[0].NotBefore)
	assert.Equal(t, b.Data(), secretData(t, client))
	assert.Equal(t, 1, writes(client))
}
