package resize

import (
	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The webhook's own limits towards kube-apiserver. With the scale-out webhook scoped to the CloneSets
// releases hold (Scope), a review costs at most a patch of a held CloneSet (and a GET when the patch
// conflicts), and the match condition is written when the set of held CloneSets changes: far below these.
// Whatever the webhook does, the verbs' and the controller's clients (--kube-api-qps) never wait for it.
const (
	ClientQPS   = 20
	ClientBurst = 40
)

// NewClients are the webhook's clients of kube-apiserver: a copy of base with a rate limiter of their own
// (ClientQPS, ClientBurst) and a user agent that names them.
func NewClients(base *rest.Config) (kruiseclient.Interface, kubernetes.Interface, error) {
	c := rest.CopyConfig(base)
	c.QPS, c.Burst = ClientQPS, ClientBurst
	c.RateLimiter = nil
	c.UserAgent = rest.DefaultKubernetesUserAgent() + " triton-apiserver/resize-webhook"
	kruise, err := kruiseclient.NewForConfig(c)
	if err != nil {
		return nil, nil, err
	}
	kube, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, nil, err
	}
	return kruise, kube, nil
}
