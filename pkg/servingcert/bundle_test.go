package servingcert

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0     = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	policy = Policy{CAValidity: 300 * 24 * time.Hour, CertValidity: 30 * 24 * time.Hour, Hosts: Hosts("triton-system", "triton-apiserver")}
	never  = func(*x509.Certificate) bool { return false }
	always = func(*x509.Certificate) bool { return true }
)

// verifies reports whether a client that trusts bundle (as kube-apiserver does with a caBundle) accepts
// cert for the Service's name at now.
func verifies(t *testing.T, bundle []byte, cert *x509.Certificate, now time.Time) bool {
	t.Helper()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(bundle))
	_, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "triton-apiserver.triton-system.svc", CurrentTime: now})
	return err == nil
}

func renew(t *testing.T, b *Bundle, now time.Time, trusted func(*x509.Certificate) bool) (*Bundle, string) {
	t.Helper()
	next, why, err := Renew(b, policy, now, trusted)
	require.NoError(t, err)
	if next != nil {
		// What is written is what is read back.
		again, err := Parse(next.Data())
		require.NoError(t, err, why)
		assert.True(t, again.Cert.Equal(next.Cert))
		assert.Len(t, again.CAs, len(next.CAs))
	}
	return next, why
}

func TestANewBundleIsACAAndACertificateForTheService(t *testing.T) {
	b, why := renew(t, nil, t0, never)
	require.NotNil(t, b, "a first certificate")
	assert.Equal(t, "no certificate yet", why)
	require.Len(t, b.CAs, 1)
	assert.True(t, b.CAs[0].IsCA)
	assert.True(t, verifies(t, b.CABundle(), b.Cert, t0))
	for _, h := range policy.Hosts {
		assert.NoError(t, b.Cert.VerifyHostname(h))
	}
	assert.Equal(t, t0.Add(policy.CertValidity), b.Cert.NotAfter)
	assert.Equal(t, t0.Add(policy.CAValidity), b.CAs[0].NotAfter)

	next, _ := renew(t, b, t0.Add(time.Hour), never)
	assert.Nil(t, next, "nothing is due an hour later")
	// Two thirds of the certificate's life, counted from when it was made (it is valid from an hour
	// earlier: clocks are not all the same).
	assert.Equal(t, t0.Add(policy.CertValidity*2/3), NextCheck(b))
}

func TestTheServingCertificateIsRenewedFromTheSameCA(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	at := NextCheck(b)
	next, why := renew(t, b, at.Add(-time.Second), never)
	assert.Nil(t, next, "not yet: %s", why)
	next, why = renew(t, b, at, never)
	require.NotNil(t, next)
	assert.Contains(t, why, "serving certificate is two thirds")
	assert.True(t, next.CAs[0].Equal(b.CAs[0]), "same CA")
	assert.False(t, next.Cert.Equal(b.Cert))
	assert.True(t, verifies(t, b.CABundle(), next.Cert, at), "the caBundle already injected verifies it: nothing to inject")

	// A host the certificate lacks (the Service was renamed): a new certificate at once.
	p := policy
	p.Hosts = append(p.Hosts, "triton.example.com")
	again, why, err := Renew(next, p, at, never)
	require.NoError(t, err)
	require.NotNil(t, again, why)
	assert.NoError(t, again.Cert.VerifyHostname("triton.example.com"))
}

// A CA is rotated in two steps so that kube-apiserver never meets a certificate it cannot verify: the new
// CA joins the bundle first; only once it is trusted does a certificate it signed get served; the old CA
// stays trusted until it expires.
func TestTheCAIsRotatedOnlyOnceTheNewOneIsTrusted(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	// Keep the serving certificate fresh until the CA is due.
	caDue := renewalTime(b.CAs[0])
	for now := NextCheck(b); now.Before(caDue); now = NextCheck(b) {
		b, _ = renew(t, b, now, never)
		require.NotNil(t, b)
	}
	step1, why := renew(t, b, caDue, never)
	require.NotNil(t, step1)
	assert.Contains(t, why, "CA is two thirds")
	require.Len(t, step1.CAs, 2, "new CA first, the old beside it")
	assert.True(t, step1.CAs[1].Equal(b.CAs[0]))
	assert.True(t, step1.Cert.Equal(b.Cert), "still the old CA's certificate")
	assert.True(t, verifies(t, step1.CABundle(), step1.Cert, caDue))

	// Not trusted yet: nothing more.
	waiting, why := renew(t, step1, caDue.Add(time.Minute), never)
	assert.Nil(t, waiting, why)

	step2, why := renew(t, step1, caDue.Add(time.Minute), always)
	require.NotNil(t, step2)
	assert.Equal(t, "the new CA is trusted", why)
	assert.True(t, step2.Cert.CheckSignatureFrom(step1.CAs[0]) == nil, "signed by the new CA")
	require.Len(t, step2.CAs, 2, "the old CA stays trusted until it expires")
	assert.True(t, verifies(t, step2.CABundle(), b.Cert, caDue.Add(time.Minute)), "a replica still serving the old certificate is verified")

	// Once the old CA has expired it leaves the bundle.
	oldExpiry := b.CAs[0].NotAfter
	for now := NextCheck(step2); now.Before(oldExpiry); now = NextCheck(step2) {
		step2, _ = renew(t, step2, now, always)
		require.NotNil(t, step2)
		require.Len(t, step2.CAs, 2, "at %s, before the old CA expires", now)
	}
	require.Equal(t, oldExpiry, NextCheck(step2), "the old CA's expiry is a check")
	step3, why := renew(t, step2, oldExpiry, always)
	require.NotNil(t, step3, "at %s", oldExpiry)
	assert.Contains(t, why, "expired CA left")
	assert.Len(t, step3.CAs, 1)
	assert.True(t, step3.Cert.Equal(step2.Cert))
}

func TestAnExpiredOrForeignBundleStartsOver(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	next, why := renew(t, b, b.CAs[0].NotAfter, never)
	require.NotNil(t, next)
	assert.Equal(t, "the CA expired", why)
	assert.Len(t, next.CAs, 1)
	assert.False(t, next.CAs[0].Equal(b.CAs[0]))

	// A serving certificate from a CA not in the bundle (someone edited the Secret).
	other, _ := renew(t, nil, t0, never)
	mixed := other.Data()
	mixed[CertKey], mixed[KeyKey] = b.Data()[CertKey], b.Data()[KeyKey]
	parsed, err := Parse(mixed)
	require.NoError(t, err)
	next, why = renew(t, parsed, t0, never)
	require.NotNil(t, next)
	assert.Contains(t, why, "no CA in the bundle signs")
	assert.True(t, verifies(t, next.CABundle(), next.Cert, t0))
}

func TestParseRefusesWhatCannotServe(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	other, _ := renew(t, nil, t0, never)
	for name, edit := range map[string]func(map[string][]byte){
		"no ca.crt":               func(d map[string][]byte) { delete(d, CAKey) },
		"no tls.key":              func(d map[string][]byte) { delete(d, KeyKey) },
		"garbage tls.crt":         func(d map[string][]byte) { d[CertKey] = []byte("not a certificate") },
		"tls.key of another cert": func(d map[string][]byte) { d[KeyKey] = other.Data()[KeyKey] },
		"ca.key of another CA":    func(d map[string][]byte) { d[CAKeyKey] = other.Data()[CAKeyKey] },
	} {
		data := b.Data()
		edit(data)
		_, err := Parse(data)
		assert.Error(t, err, name)
	}
}

func TestNewestCAAndTrusts(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	later, _ := renew(t, nil, t0.Add(time.Hour), never)
	assert.True(t, Trusts(b.CABundle(), b.CAs[0]))
	assert.False(t, Trusts(b.CABundle(), later.CAs[0]))
	assert.False(t, Trusts(nil, b.CAs[0]))
	now := t0.Add(2 * time.Hour)
	assert.True(t, NewestCA(later.CABundle(), now).After(NewestCA(b.CABundle(), now)))
	assert.True(t, NewestCA(nil, now).IsZero())
}
