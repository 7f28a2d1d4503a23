package servingcert

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// APIServiceResource is apiregistration.k8s.io/v1 apiservices, read and written as unstructured objects
// (the only field written is spec.caBundle).
var APIServiceResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// Injector keeps the CA bundle in the caBundle of the APIServices and of every webhook of the
// MutatingWebhookConfigurations named.
type Injector struct {
	Dynamic     dynamic.Interface
	Kube        kubernetes.Interface
	APIServices []string
	Webhooks    []string
	// Now is the clock (nil: time.Now): a caBundle's CAs not valid yet by it do not count as newer.
	Now func() time.Time
}

// Empty reports whether there is nothing to inject into.
func (i *Injector) Empty() bool { return i == nil || len(i.APIServices)+len(i.Webhooks) == 0 }

// Trusted reports whether every caBundle holds ca. An object that does not exist trusts nothing.
func (i *Injector) Trusted(ctx context.Context, ca *x509.Certificate) (bool, error) {
	for _, name := range i.APIServices {
		bundle, _, err := i.apiServiceBundle(ctx, name)
		if err != nil || !Trusts(bundle, ca) {
			return false, err
		}
	}
	for _, name := range i.Webhooks {
		config, err := i.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, w := range config.Webhooks {
			if !Trusts(w.ClientConfig.CABundle, ca) {
				return false, nil
			}
		}
	}
	return true, nil
}

// Inject writes bundle into every caBundle that differs, unless that caBundle holds a newer CA than
// bundle (another replica has read a newer Secret: the bundle only ever moves forward). CAs not valid yet
// by this clock do not count: a caBundle whose newest CA a replica with a clock ahead made is replaced,
// and a bundle with no CA valid by this clock is written nowhere. Objects that do not exist are skipped:
// they get the bundle when they are created (the Run loop watches them).
func (i *Injector) Inject(ctx context.Context, bundle []byte) error {
	now := time.Now()
	if i.Now != nil {
		now = i.Now()
	}
	newest := NewestCA(bundle, now)
	if newest.IsZero() {
		return fmt.Errorf("the CA bundle holds no CA valid by this clock (%s)", now.UTC().Format(time.RFC3339))
	}
	for _, name := range i.APIServices {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			current, obj, err := i.apiServiceBundle(ctx, name)
			if err != nil || obj == nil || bytes.Equal(current, bundle) || NewestCA(current, now).After(newest) {
				return err
			}
			if err := unstructured.SetNestedField(obj.Object, base64.StdEncoding.EncodeToString(bundle), "spec", "caBundle"); err != nil {
				return err
			}
			if _, err := i.Dynamic.Resource(APIServiceResource).Update(ctx, obj, metav1.UpdateOptions{FieldManager: "triton-apiserver"}); err != nil {
				return err
			}
			klog.InfoS("Injected the CA bundle", "apiservice", name)
			return nil
		})
		if err != nil {
			return fmt.Errorf("APIService %s: %w", name, err)
		}
	}
	for _, name := range i.Webhooks {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			client := i.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
			config, err := client.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			} else if err != nil {
				return err
			}
			changed := false
			for j := range config.Webhooks {
				cc := &config.Webhooks[j].ClientConfig
				if !bytes.Equal(cc.CABundle, bundle) && !NewestCA(cc.CABundle, now).After(newest) {
					cc.CABundle = bundle
					changed = true
				}
			}
			if !changed {
				return nil
			}
			if _, err := client.Update(ctx, config, metav1.UpdateOptions{FieldManager: "triton-apiserver"}); err != nil {
				return err
			}
			klog.InfoS("Injected the CA bundle", "mutatingwebhookconfiguration", name)
			return nil
		})
		if err != nil {
			return fmt.Errorf("MutatingWebhookConfiguration %s: %w", name, err)
		}
	}
	return nil
}

// apiServiceBundle is an APIService's caBundle and the object (nil, nil, nil when it does not exist).
func (i *Injector) apiServiceBundle(ctx context.Context, name string) ([]byte, *unstructured.Unstructured, error) {
	obj, err := i.Dynamic.Resource(APIServiceResource).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	encoded, _, err := unstructured.NestedString(obj.Object, "spec", "caBundle")
	if err != nil {
		return nil, nil, err
	}
	bundle, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		bundle = nil // garbage is replaced
	}
	return bundle, obj, nil
}
