package embeddedetcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/servingcert"
)

// defaultPeerCertValidity is how long a member's peer certificate is valid; it is issued anew at start
// and at two thirds of its life, and etcd reads the files again for every new connection.
const defaultPeerCertValidity = 365 * 24 * time.Hour

// peerTLSDir is where, in the data dir, the member keeps its peer certificate, its key and the CAs it
// trusts.
const peerTLSDir = "peer-tls"

// peerTLS is a member's peer certificate, issued by itself from the cluster's peer CA.
type peerTLS struct {
	dir      string
	ca       PeerCA
	hosts    []string
	name     string
	validity time.Duration

	mu       sync.Mutex
	notAfter time.Time
	renewAt  time.Time
}

func newPeerTLS(dataDir string, c *Cluster) *peerTLS {
	validity := c.peerCertValidity
	if validity == 0 {
		validity = defaultPeerCertValidity
	}
	return &peerTLS{dir: filepath.Join(dataDir, peerTLSDir), ca: c.PeerCA, hosts: c.peerHosts(), name: c.Name,
		validity: validity}
}

func (p *peerTLS) caFile() string   { return filepath.Join(p.dir, "ca.crt") }
func (p *peerTLS) certFile() string { return filepath.Join(p.dir, "peer.crt") }
func (p *peerTLS) keyFile() string  { return filepath.Join(p.dir, "peer.key") }

// info is etcd's peer TLS: this member's certificate, for its listener and its connections to peers
// alike, and only peers with a certificate from the CA are accepted.
func (p *peerTLS) info() transport.TLSInfo {
	return transport.TLSInfo{CertFile: p.certFile(), KeyFile: p.keyFile(), TrustedCAFile: p.caFile(),
		ClientCertAuth: true}
}

// issue gets the CAs and writes a new certificate for the member's hosts, signed by the newest CA.
// The CAs trusted are written only once per start (etcd reads them once): a CA made later is trusted
// from the next start on.
func (p *peerTLS) issue(ctx context.Context, writeCAs bool) error {
	cas, key, err := p.ca(ctx)
	if err != nil {
		return fmt.Errorf("peer CA: %w", err)
	}
	if len(cas) == 0 || key == nil {
		return errors.New("peer CA: no CA")
	}
	now := time.Now()
	// Usable by its peer listener and by its connections to peers.
	cert, _, keyPEM, err := servingcert.SignLeaf(cas[0], key, p.name, p.hosts,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, now, p.validity)
	if err != nil {
		return fmt.Errorf("signing the peer certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: cert.Raw})
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	if writeCAs {
		var bundle []byte
		for _, ca := range cas {
			bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: ca.Raw})...)
		}
		if err := writeFile(p.caFile(), bundle); err != nil {
			return err
		}
	}
	// The key first: a connection made between the two writes fails once and is retried.
	if err := writeFile(p.keyFile(), keyPEM); err != nil {
		return err
	}
	if err := writeFile(p.certFile(), certPEM); err != nil {
		return err
	}
	made := now
	p.mu.Lock()
	p.notAfter = cert.NotAfter
	p.renewAt = made.Add(cert.NotAfter.Sub(made) * 2 / 3)
	p.mu.Unlock()
	return nil
}

// renewals issues the certificate anew at two thirds of its life, until ctx is done; a failure is
// retried a minute later.
func (p *peerTLS) renewals(ctx context.Context) {
	for {
		p.mu.Lock()
		wait := time.Until(p.renewAt)
		p.mu.Unlock()
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := p.issue(ctx, false); err != nil {
			if ctx.Err() != nil {
				return
			}
			klog.ErrorS(err, "Embedded etcd: cannot renew the peer certificate; retrying in a minute")
			p.mu.Lock()
			p.renewAt = time.Now().Add(time.Minute)
			p.mu.Unlock()
			continue
		}
		klog.InfoS("Embedded etcd: renewed the peer certificate", "notAfter", p.notAfter)
	}
}

// tlsConfig is the member's TLS as a client of its peers (and as the rejoin listener's server).
func (p *peerTLS) tlsConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.certFile(), p.keyFile())
	if err != nil {
		return nil, err
	}
	pool, err := certutil.NewPool(p.caFile())
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: pool,
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}, nil
}

// client is an HTTP client of the member's peers.
func (p *peerTLS) client() (*http.Client, error) {
	c, err := p.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: c}, Timeout: 5 * time.Second}, nil
}

// writeFile replaces name with data at once (a new file renamed over it).
func writeFile(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
