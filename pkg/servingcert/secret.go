package servingcert

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// Store keeps a Bundle in the Secret Namespace/Name. Several replicas may share it: each write is a
// create or an update at the resourceVersion read, so that of two replicas renewing at once one wins and
// the other reads what it wrote.
type Store struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	Policy    Policy
	// Trusted reports whether a CA is in every caBundle that must trust the server (nil: there are none).
	Trusted func(context.Context, *x509.Certificate) (bool, error)
	Now     func() time.Time
}

// Ensure reads the Secret, renews what Renew says (creating the Secret if there is none), and returns
// the bundle it holds then.
func (s *Store) Ensure(ctx context.Context) (*Bundle, error) {
	for attempt := 0; ; attempt++ {
		b, err := s.ensureOnce(ctx)
		if err == nil || attempt == 4 || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			return b, err
		}
		// Another replica wrote first: read what it wrote.
	}
}

func (s *Store) ensureOnce(ctx context.Context) (*Bundle, error) {
	secret, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		secret = nil
	} else if err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	var current *Bundle
	if secret != nil {
		if current, err = Parse(secret.Data); err != nil {
			klog.InfoS("The serving certificate's Secret holds no usable certificate: starting over with a new CA",
				"secret", klog.KRef(s.Namespace, s.Name), "err", err)
			current = nil
		}
	}
	var trustErr error
	trusted := func(ca *x509.Certificate) bool {
		if s.Trusted == nil {
			return true
		}
		ok, err := s.Trusted(ctx, ca)
		if err != nil {
			trustErr = err
		}
		return ok
	}
	next, why, err := Renew(current, s.Policy, s.now(), trusted)
	if err != nil {
		return nil, err
	}
	if trustErr != nil {
		klog.InfoS("Could not read a caBundle", "err", trustErr)
	}
	if next == nil {
		return current, nil
	}
	if secret == nil {
		secret = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace,
				Labels: map[string]string{"app.kubernetes.io/name": "triton-apiserver", "app.kubernetes.io/component": "serving-certificate"}},
			Type: corev1.SecretTypeTLS,
			Data: next.Data(),
		}
		if _, err := s.Client.CoreV1().Secrets(s.Namespace).Create(ctx, secret, metav1.CreateOptions{FieldManager: "triton-apiserver"}); err != nil {
			return nil, err
		}
	} else {
		secret = secret.DeepCopy()
		if secret.Data == nil {
			secret.Data = map[string][]byte{}
		}
		for k, v := range next.Data() {
			secret.Data[k] = v
		}
		if _, err := s.Client.CoreV1().Secrets(s.Namespace).Update(ctx, secret, metav1.UpdateOptions{FieldManager: "triton-apiserver"}); err != nil {
			return nil, err
		}
	}
	klog.InfoS("Renewed the serving certificate", "secret", klog.KRef(s.Namespace, s.Name), "why", why,
		"caNotAfter", next.CAs[0].NotAfter, "certNotAfter", next.Cert.NotAfter, "trustedCAs", len(next.CAs))
	return next, nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
