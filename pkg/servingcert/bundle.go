package servingcert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// The Secret's keys: tls.crt and tls.key, as in a kubernetes.io/tls Secret, the CA bundle (every CA
// still trusted, newest first) as cert-manager names it, and the newest CA's key.
const (
	CertKey   = corev1.TLSCertKey
	KeyKey    = corev1.TLSPrivateKeyKey
	CAKey     = "ca.crt"
	CAKeyKey  = "ca.key"
	renewedAt = 2.0 / 3 // a certificate is renewed once two thirds of its lifetime have passed
)

// Clocks are not all the same: the server's, kube-apiserver's and the other replicas'.
const (
	// Backdate is how long before it is made a certificate is valid from, so that a verifier whose clock
	// runs behind (kube-apiserver's, another replica's) accepts it at once. The life that Policy gives is
	// counted from when the certificate is made, not from this.
	Backdate = time.Hour
	// ClockSkewTolerance is how far in this clock's future a certificate's NotBefore may lie and still be
	// served, preferred or passed on. Beyond that it was made by a replica whose clock runs ahead: it is
	// replaced, never adopted (kube-apiserver would refuse it until its own clock got there).
	ClockSkewTolerance = 5 * time.Minute
)

// notYetValid reports whether c's NotBefore lies beyond now plus ClockSkewTolerance.
func notYetValid(c *x509.Certificate, now time.Time) bool {
	return c.NotBefore.After(now.Add(ClockSkewTolerance))
}

// Policy is what the certificates must be: how long each lives, and the names the serving certificate
// is valid for (DNS names or IP addresses).
type Policy struct {
	CAValidity   time.Duration
	CertValidity time.Duration
	Hosts        []string
}

// Bundle is the content of the Secret, parsed.
type Bundle struct {
	// CAs are the CAs to trust, newest first; CAs[0] signs new serving certificates with CAKey.
	CAs   []*x509.Certificate
	CAKey crypto.Signer
	// Cert is the serving certificate, signed by one of CAs, and Key its key.
	Cert *x509.Certificate
	Key  crypto.Signer

	// The keys as they are stored, so that they are not marshalled again for every write.
	caKeyPEM, keyPEM []byte
}

// Parse reads a Secret's data. A missing key or one that does not parse is an error: the caller starts
// over with a new CA.
func Parse(data map[string][]byte) (*Bundle, error) {
	b := &Bundle{caKeyPEM: data[CAKeyKey], keyPEM: data[KeyKey]}
	var err error
	if b.CAs, err = certutil.ParseCertsPEM(data[CAKey]); err != nil {
		return nil, fmt.Errorf("%s: %w", CAKey, err)
	}
	if b.CAKey, err = parseKey(b.caKeyPEM); err != nil {
		return nil, fmt.Errorf("%s: %w", CAKeyKey, err)
	}
	certs, err := certutil.ParseCertsPEM(data[CertKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CertKey, err)
	}
	b.Cert = certs[0]
	if b.Key, err = parseKey(b.keyPEM); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyKey, err)
	}
	if !samePublicKey(b.CAs[0].PublicKey, b.CAKey.Public()) {
		return nil, errors.New("ca.key is not the key of the first CA in ca.crt")
	}
	if !samePublicKey(b.Cert.PublicKey, b.Key.Public()) {
		return nil, errors.New("tls.key is not the key of tls.crt")
	}
	return b, nil
}

// Data is the Secret's data for b.
func (b *Bundle) Data() map[string][]byte {
	cert, key := b.ServingPair()
	return map[string][]byte{CAKey: b.CABundle(), CAKeyKey: b.caKeyPEM, CertKey: cert, KeyKey: key}
}

// CABundle is the PEM of every CA to trust, newest first: what goes into a caBundle.
func (b *Bundle) CABundle() []byte { return encodeCerts(b.CAs) }

// ServingPair is the serving certificate and its key, PEM.
func (b *Bundle) ServingPair() (cert, key []byte) {
	return encodeCerts([]*x509.Certificate{b.Cert}), b.keyPEM
}

// signer is the CA in b that signed its serving certificate, or nil.
func (b *Bundle) signer() *x509.Certificate {
	for _, ca := range b.CAs {
		if b.Cert.CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	return nil
}

// Renew says what the Secret must hold next, and why; nil when b is right as it is. trusted reports
// whether a CA is already in every caBundle that must trust the server: a serving certificate from a new
// CA is issued only then, so that kube-apiserver can verify it as soon as the server serves it.
//
// In order:
//   - nothing usable (b nil), the newest CA expired or no CA signs the certificate: a new CA and
//     certificate, at once (a server without a valid certificate serves nothing anyway);
//   - the newest CA is not valid yet by this clock (a replica whose clock runs ahead made it): a new CA
//     in its place; the serving certificate stays if an older CA of the bundle signed it and it is valid,
//     else a new one at once;
//   - the serving certificate, or the CA that signed it, is not valid yet by this clock: a new serving
//     certificate from the newest CA, at once;
//   - the newest CA is two thirds through its life: a new CA goes first in the bundle, beside the old;
//     the serving certificate stays the old CA's until the new one is trusted;
//   - the serving certificate is not the newest CA's and that CA is trusted, or it is two thirds through
//     its life, or it lacks a host: a new serving certificate from the newest CA;
//   - CAs in the bundle that have expired leave it (an older CA is trusted until then), and so do CAs not
//     valid yet by this clock.
//
// Everything made is valid from Backdate before now, so that clocks behind this one accept it.
func Renew(b *Bundle, p Policy, now time.Time, trusted func(*x509.Certificate) bool) (*Bundle, string, error) {
	if b == nil {
		next, err := fresh(p, now)
		return next, "no certificate yet", err
	}
	newest := b.CAs[0]
	signer := b.signer()
	switch {
	case !now.Before(newest.NotAfter):
		next, err := fresh(p, now)
		return next, "the CA expired", err
	case notYetValid(newest, now):
		const why = "the CA is not valid yet by this clock"
		if signer != nil && signer != newest && !notYetValid(signer, now) && now.Before(signer.NotAfter) &&
			!notYetValid(b.Cert, now) && now.Before(b.Cert.NotAfter) {
			rest := *b
			rest.CAs = validBy(b.CAs[1:], now)
			next, err := rest.withNewCA(p, now)
			return next, why, err
		}
		next, err := fresh(p, now)
		return next, why, err
	case signer == nil:
		next, err := fresh(p, now)
		return next, "no CA in the bundle signs the serving certificate", err
	case notYetValid(b.Cert, now) || notYetValid(signer, now):
		next, err := b.withCert(p, now)
		return next, "the serving certificate is not valid yet by this clock", err
	case !now.Before(b.Cert.NotAfter):
		if signer == newest {
			next, err := b.withCert(p, now)
			return next, "the serving certificate expired", err
		}
		next, err := fresh(p, now)
		return next, "the serving certificate expired", err
	case due(newest, now):
		next, err := b.withNewCA(p, now)
		return next, "the CA is two thirds through its life", err
	case signer != newest && trusted(newest):
		next, err := b.withCert(p, now)
		return next, "the new CA is trusted", err
	case signer == newest && due(b.Cert, now):
		next, err := b.withCert(p, now)
		return next, "the serving certificate is two thirds through its life", err
	case signer == newest && !covers(b.Cert, p.Hosts):
		next, err := b.withCert(p, now)
		return next, "the serving certificate lacks a host", err
	}
	if kept := unexpired(b.CAs, now); len(kept) != len(b.CAs) {
		next := *b
		next.CAs = kept
		return &next, "an expired CA left the bundle", nil
	}
	if kept := usable(b.CAs, now); len(kept) != len(b.CAs) {
		next := *b
		next.CAs = kept
		return &next, "a CA not valid yet by this clock left the bundle", nil
	}
	return nil, "", nil
}

// NextCheck is when Renew may next have something to do for b.
func NextCheck(b *Bundle) time.Time {
	next := renewalTime(b.CAs[0])
	if t := renewalTime(b.Cert); t.Before(next) {
		next = t
	}
	for _, ca := range b.CAs[1:] {
		if ca.NotAfter.Before(next) {
			next = ca.NotAfter
		}
	}
	return next
}

// renewalTime is two thirds through c's life, counted from when it was made: Backdate after its NotBefore.
// When that leaves it no life (a short-lived certificate that was backdated less, by an older version),
// from its NotBefore.
func renewalTime(c *x509.Certificate) time.Time {
	made := c.NotBefore.Add(Backdate)
	if !made.Before(c.NotAfter) {
		made = c.NotBefore
	}
	life := c.NotAfter.Sub(made)
	return made.Add(time.Duration(float64(life) * renewedAt))
}

func due(c *x509.Certificate, now time.Time) bool { return !now.Before(renewalTime(c)) }

// covers reports whether c is valid for every host.
func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// fresh is a new CA and a serving certificate it signed.
func fresh(p Policy, now time.Time) (*Bundle, error) {
	b := &Bundle{}
	next, err := b.withNewCA(p, now)
	if err != nil {
		return nil, err
	}
	next.CAs = next.CAs[:1]
	return next.withCert(p, now)
}

// withNewCA is b with a new CA first in the bundle; the serving certificate is b's.
func (b *Bundle) withNewCA(p Policy, now time.Time) (*Bundle, error) {
	template := &x509.Certificate{
		Subject:               pkix.Name{CommonName: fmt.Sprintf("triton-apiserver-ca@%d", now.Unix())},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(p.CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	ca, key, keyPEM, err := sign(template, nil, nil)
	if err != nil {
		return nil, err
	}
	next := *b
	next.CAs = append([]*x509.Certificate{ca}, b.CAs...)
	next.CAKey, next.caKeyPEM = key, keyPEM
	return &next, nil
}

// withCert is b with a new serving certificate from its newest CA, for p's hosts, living no longer
// than that CA.
func (b *Bundle) withCert(p Policy, now time.Time) (*Bundle, error) {
	cert, key, keyPEM, err := SignLeaf(b.CAs[0], b.CAKey, "triton-apiserver", p.Hosts,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, now, p.CertValidity)
	if err != nil {
		return nil, err
	}
	next := *b
	next.Cert, next.Key, next.keyPEM = cert, key, keyPEM
	next.CAs = usable(unexpired(b.CAs, now), now)
	return &next, nil
}

// SignLeaf makes a key and a certificate for it signed by ca: named commonName, for hosts (IP addresses
// and DNS names; empty ones skipped), with usages, valid from Backdate before now for validity but no
// longer than ca. It returns the certificate, its key and the key in PEM.
func SignLeaf(ca *x509.Certificate, caKey crypto.Signer, commonName string, hosts []string, usages []x509.ExtKeyUsage,
	now time.Time, validity time.Duration) (*x509.Certificate, crypto.Signer, []byte, error) {
	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		NotBefore:   now.Add(-Backdate),
		NotAfter:    now.Add(validity),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: usages,
	}
	if template.NotAfter.After(ca.NotAfter) {
		template.NotAfter = ca.NotAfter
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else if h != "" {
			template.DNSNames = append(template.DNSNames, h)
		}
	}
	return sign(template, ca, caKey)
}

// sign makes a key and a certificate of template for it, with a random serial number, signed by parent
// with parentKey (nil: self-signed).
func sign(template, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer, []byte, error) {
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, nil, nil, err
	}
	if template.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)); err != nil {
		return nil, nil, nil, err
	}
	if parent == nil {
		parent, parentKey = template, key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, keyPEM, err
}

// unexpired is cas without the expired ones but the first. An older CA stays trusted until it expires,
// though nothing new is signed with it: a replica still serving a certificate it signed (it has not
// read the Secret again yet) is verified all the same.
func unexpired(cas []*x509.Certificate, now time.Time) []*x509.Certificate {
	kept := []*x509.Certificate{cas[0]}
	for _, ca := range cas[1:] {
		if now.Before(ca.NotAfter) {
			kept = append(kept, ca)
		}
	}
	return kept
}

// usable is cas without those not valid yet by now (a replica whose clock runs ahead made them), but
// the first.
func usable(cas []*x509.Certificate, now time.Time) []*x509.Certificate {
	return append([]*x509.Certificate{cas[0]}, validBy(cas[1:], now)...)
}

// validBy is cas without those not valid yet by now.
func validBy(cas []*x509.Certificate, now time.Time) []*x509.Certificate {
	var kept []*x509.Certificate
	for _, ca := range cas {
		if !notYetValid(ca, now) {
			kept = append(kept, ca)
		}
	}
	return kept
}

// Trusts reports whether the PEM bundle holds ca.
func Trusts(bundle []byte, ca *x509.Certificate) bool {
	certs, err := certutil.ParseCertsPEM(bundle)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(certs, func(c *x509.Certificate) bool { return c.Equal(ca) })
}

// NewestCA is the latest NotBefore of the CAs in a PEM bundle that are valid by now (within
// ClockSkewTolerance): zero when it holds none. A CA a replica whose clock runs ahead made does not count,
// so that a bundle holding it is never preferred to one that kube-apiserver can use.
func NewestCA(bundle []byte, now time.Time) time.Time {
	var newest time.Time
	certs, _ := certutil.ParseCertsPEM(bundle)
	for _, c := range certs {
		if !notYetValid(c, now) && c.NotBefore.After(newest) {
			newest = c.NotBefore
		}
	}
	return newest
}

func encodeCerts(certs []*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: certutil.CertificateBlockType, Bytes: c.Raw})
	}
	return buf.Bytes()
}

func newKey() (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return key, keyPEM, nil
}

func parseKey(data []byte) (crypto.Signer, error) {
	key, err := keyutil.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return signer, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}
