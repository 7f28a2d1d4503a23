package resize

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// The scale-out webhook's scope. A Scale object carries no labels or annotations (kube-apiserver's scale of
// a custom resource copies only its name, namespace, uid, resourceVersion and creation time), so neither an
// objectSelector nor a match condition on the object can tell a CloneSet a release holds from any other.
// Instead the server keeps, in the webhook's match condition HeldCondition, the list of the CloneSets
// releases hold (those carrying the owner annotation, in the server's CloneSet cache): kube-apiserver
// evaluates it itself, and a scale-out of any other CloneSet never waits for triton-apiserver.
//
// The list lags the cache by Debounce and the write's round trip. A scale-out of a CloneSet whose release
// has just taken it, in that window, is not sent to the webhook: kruise may then create pods at the
// release's revision beyond the approved, and the controller never lets them into traffic and has kruise
// replace them (moves.Decide's Replace, which cloneset.Follow carries out). That is the backstop the
// webhook's failurePolicy Ignore already relies on whenever triton-apiserver cannot be reached; the list
// changes nothing else.
const (
	// ConfigurationName is the MutatingWebhookConfiguration of artifacts/deploy/webhook.yaml, the one a
	// Scope keeps unless told another.
	ConfigurationName = "triton-cloneset-resize"
	// ScaleOutWebhook is its webhook for the scale subresource.
	ScaleOutWebhook = "cloneset-scale-out.releases.triton.io"
	// HeldCondition is the match condition the server maintains in ScaleOutWebhook.
	HeldCondition = "held-by-a-release"
	// MaxHeld bounds the CloneSets listed; with more, every scale-out matches (as with no list at all).
	MaxHeld = 500
	// MaxExpressionLength bounds the expression, well below CEL's 100,000 code points and a webhook
	// configuration's size; longer, every scale-out matches.
	MaxExpressionLength = 50_000

	// MatchAll is the condition that sends every scale-out to the webhook: webhook.yaml's until the server
	// writes its list, and the fallback past the bounds.
	MatchAll = "true"
	// MatchNone is the condition while no release holds a CloneSet.
	MatchNone = "false"

	maxMatchConditions = 64 // admissionregistration.k8s.io's limit per webhook
)

// HeldExpression is the CEL match condition that holds for a request on one of the CloneSets held, each
// "namespace/name": MatchNone for none, MatchAll past MaxHeld or MaxExpressionLength, or for a name that is
// not a Kubernetes name (which cannot be: it keeps the expression well formed whatever it is given). The
// same set gives the same expression, in any order.
func HeldExpression(held []string) string {
	if len(held) == 0 {
		return MatchNone
	}
	keys := slices.Compact(slices.Sorted(slices.Values(held)))
	if len(keys) > MaxHeld {
		return MatchAll
	}
	var b strings.Builder
	b.WriteString("request.namespace + '/' + request.name in [")
	for i, k := range keys {
		if !plainKey(k) {
			return MatchAll
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('\'')
		b.WriteString(k)
		b.WriteByte('\'')
		if b.Len() >= MaxExpressionLength {
			return MatchAll
		}
	}
	b.WriteByte(']')
	return b.String()
}

// plainKey reports whether k is namespace/name of Kubernetes names: lower-case letters, digits, '-' and '.'.
func plainKey(k string) bool {
	ns, name, ok := strings.Cut(k, "/")
	if !ok || ns == "" || name == "" {
		return false
	}
	for _, r := range ns + name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// HeldConditionOf is the expression of HeldCondition in the scale-out webhook of config, if it has both.
func HeldConditionOf(config *admissionregistrationv1.MutatingWebhookConfiguration) (string, bool) {
	for _, w := range config.Webhooks {
		if w.Name != ScaleOutWebhook {
			continue
		}
		for _, c := range w.MatchConditions {
			if c.Name == HeldCondition {
				return c.Expression, true
			}
		}
	}
	return "", false
}

// SetHeldCondition sets HeldCondition of config's scale-out webhook to expression, adding it if missing,
// and reports whether config changed. A config without that webhook is left alone.
func SetHeldCondition(config *admissionregistrationv1.MutatingWebhookConfiguration, expression string) bool {
	for i := range config.Webhooks {
		w := &config.Webhooks[i]
		if w.Name != ScaleOutWebhook {
			continue
		}
		for j := range w.MatchConditions {
			if c := &w.MatchConditions[j]; c.Name == HeldCondition {
				if c.Expression == expression {
					return false
				}
				c.Expression = expression
				return true
			}
		}
		if len(w.MatchConditions) >= maxMatchConditions {
			return false
		}
		w.MatchConditions = append(w.MatchConditions, admissionregistrationv1.MatchCondition{Name: HeldCondition, Expression: expression})
		return true
	}
	return false
}

// Scope keeps HeldCondition listing the CloneSets releases hold, for one term of leadership (Run). It writes
// only when the list changes, after Debounce, with a read and an update retried on conflict, as the CA
// bundle injector does (pkg/servingcert): an apply of webhook.yaml that puts MatchAll back is undone.
//
// One Scope per cluster may keep a configuration: two (two installations, each with a leader of its own)
// would each write the list as its own cache saw it a moment ago, and a list written from a cache a moment
// behind leaves out a CloneSet a release has just taken, until the other writes it back. The server's
// --resize-webhook-configuration names the configuration, and is empty for any second installation.
type Scope struct {
	// Configuration is the MutatingWebhookConfiguration kept; empty: ConfigurationName.
	Configuration string
	// Kube writes the webhook configuration (get and update; the webhook's own client).
	Kube kubernetes.Interface
	// CloneSets is the server's CloneSet informer (pkg/release/caches).
	CloneSets cache.SharedIndexInformer
	// Configs, when set, is an informer of MutatingWebhookConfigurations: a change of the configuration
	// (an apply, a re-creation) is undone at once, and an unchanged list costs no read. Without it, the
	// configuration is read every Resync.
	Configs cache.SharedIndexInformer
	// Debounce gathers changes of the list into one write; 0: 200 ms.
	Debounce time.Duration
	// Resync is how often the configuration is read without Configs; 0: 30 s.
	Resync time.Duration

	mu    sync.Mutex
	held  map[string]struct{}
	dirty chan struct{}
}

// Run keeps the condition until ctx is done.
func (s *Scope) Run(ctx context.Context) {
	s.held = map[string]struct{}{}
	s.dirty = make(chan struct{}, 1)
	name := s.name()
	debounce, resync := s.Debounce, s.Resync
	if debounce <= 0 {
		debounce = 200 * time.Millisecond
	}
	if resync <= 0 {
		resync = 30 * time.Second
	}
	csReg, err := s.CloneSets.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { s.observe(obj, false) },
		UpdateFunc: func(_, obj interface{}) { s.observe(obj, false) },
		DeleteFunc: func(obj interface{}) { s.observe(obj, true) },
	})
	if err != nil {
		klog.ErrorS(err, "The scale-out webhook's scope: cannot watch CloneSets")
		return
	}
	defer func() { _ = s.CloneSets.RemoveEventHandler(csReg) }()
	synced := []cache.InformerSynced{csReg.HasSynced}
	var tick <-chan time.Time
	if s.Configs != nil {
		cfgReg, err := s.Configs.AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: func(obj interface{}) bool {
				o, ok := obj.(metav1.Object)
				return ok && o.GetName() == name
			},
			Handler: cache.ResourceEventHandlerFuncs{
				AddFunc:    func(interface{}) { s.signal() },
				UpdateFunc: func(_, _ interface{}) { s.signal() },
			},
		})
		if err != nil {
			klog.ErrorS(err, "The scale-out webhook's scope: cannot watch webhook configurations")
			return
		}
		defer func() { _ = s.Configs.RemoveEventHandler(cfgReg) }()
		synced = append(synced, cfgReg.HasSynced)
	} else {
		ticker := time.NewTicker(resync)
		defer ticker.Stop()
		tick = ticker.C
	}
	// The list is complete only once every CloneSet there is has been seen; until then the configuration
	// keeps what it had (webhook.yaml's MatchAll, or the last term's list).
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return
	}
	s.signal()
	var backoff time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dirty:
		case <-tick:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(debounce):
		}
		select {
		case <-s.dirty:
		default:
		}
		if err := s.sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			klog.ErrorS(err, "Could not update the scale-out webhook's match condition; retrying", "in", backoff)
			time.AfterFunc(backoff, s.signal)
			continue
		}
		backoff = 0
	}
}

// name is the configuration kept.
func (s *Scope) name() string {
	if s.Configuration != "" {
		return s.Configuration
	}
	return ConfigurationName
}

func (s *Scope) signal() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// observe records whether a CloneSet is held, and signals a change of the list.
func (s *Scope) observe(obj interface{}, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = t.Obj, true
	}
	cs, ok := obj.(*kruiseappsv1alpha1.CloneSet)
	if !ok {
		return
	}
	key := cs.Namespace + "/" + cs.Name
	held := !deleted && cs.Annotations[v1alpha1.OwnerAnnotation] != ""
	s.mu.Lock()
	_, was := s.held[key]
	if held {
		s.held[key] = struct{}{}
	} else {
		delete(s.held, key)
	}
	s.mu.Unlock()
	if was != held {
		s.signal()
	}
}

// Held is the list of CloneSets held, as namespace/name.
func (s *Scope) Held() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.held))
	for k := range s.held {
		keys = append(keys, k)
	}
	return keys
}

// sync writes the expression of the current list, if the configuration has another.
func (s *Scope) sync(ctx context.Context) error {
	held := s.Held()
	want := HeldExpression(held)
	if s.Configs != nil {
		obj, exists, err := s.Configs.GetIndexer().GetByKey(s.name())
		if err == nil && !exists {
			return nil // its creation will be seen
		}
		if config, ok := obj.(*admissionregistrationv1.MutatingWebhookConfiguration); err == nil && ok {
			if current, found := HeldConditionOf(config); found && current == want {
				return nil
			}
		}
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		client := s.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
		config, err := client.Get(ctx, s.name(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		if !SetHeldCondition(config, want) {
			return nil
		}
		if _, err := client.Update(ctx, config, metav1.UpdateOptions{FieldManager: "triton-apiserver"}); err != nil {
			return err
		}
		klog.InfoS("Scoped the scale-out webhook to the CloneSets releases hold", "mutatingwebhookconfiguration", s.name(),
			"held", len(held), "matchAll", want == MatchAll)
		return nil
	})
}
