package install

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
)

// decodeAndValidate is what the server does with a body: decode (JSON or YAML) into the internal type
// through defaulting and conversion, then validate. Whatever the bytes, it must not panic.
func decodeAndValidate(t *testing.T, data []byte) {
	scheme := runtime.NewScheme()
	Install(scheme)
	codecs := serializer.NewCodecFactory(scheme)
	obj, _, err := codecs.UniversalDecoder(releases.SchemeGroupVersion).Decode(data, nil, nil)
	if err != nil {
		return
	}
	switch o := obj.(type) {
	case *releases.Release:
		_ = validation.ValidateRelease(o)
		_ = validation.ValidateReleaseUpdate(o, o.DeepCopy())
		_ = validation.ValidateReleaseStatusUpdate(o, o.DeepCopy())
	case *releases.ReleaseRequest:
		_ = validation.ValidateReleaseRequest(o)
	case *releases.AnalysisTemplate:
		_ = validation.ValidateAnalysisTemplate(o)
		_ = validation.ValidateAnalysisTemplateUpdate(o, o.DeepCopy())
	}
}

// seeds are the examples users start from, a ReleaseRequest, a release with an analysis and an
// AnalysisTemplate.
func seeds(t testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "artifacts", "examples", "*.yaml"))
	var out [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	return append(out,
		[]byte(`{"kind":"ReleaseRequest","apiVersion":"releases.triton.io/v1alpha1","expectedBatch":1,"expectedPhase":"Smoked","reason":"ok"}`),
		[]byte(`{"kind":"Release","apiVersion":"releases.triton.io/v1alpha1","metadata":{"name":"x"},"spec":{"cloneSetName":"c","action":"Scale","replicas":3,"podsToDelete":["a"],"strategy":{"batchSize":"50%","maxFailedPods":"10%"}},"status":{"currentBatch":9,"batches":[{"index":2,"target":-1}]}}`),
		[]byte(`{"kind":"Release","apiVersion":"releases.triton.io/v1alpha1","metadata":{"name":"x","namespace":"shop"},"spec":{"cloneSetName":"c","action":"Restart","strategy":{"analysis":{"templates":["slo"],"bakeSeconds":60,"checks":[{"name":"errors","prometheus":{"query":"sum(rate(errors{pod=~\"${cloneSet}-.*\"}[1m]))"},"successCondition":"result < 0.01"},{"name":"stats","http":{"service":"web","port":8080,"path":"/stats","jsonPath":"{.rate}"},"successCondition":"result < 1"},{"name":"pods","podHealth":{"maxRestarts":1}}]}}},"status":{"batches":[{"index":1,"target":1,"analysis":[{"name":"errors","phase":"Running","measurements":[{"time":"2026-01-01T00:00:00Z","value":"0.1","phase":"Failed"}]}]}]}}`),
		[]byte(`{"kind":"AnalysisTemplate","apiVersion":"releases.triton.io/v1alpha1","metadata":{"name":"slo","namespace":"shop"},"spec":{"checks":[{"name":"latency","prometheus":{"query":"histogram_quantile(0.99, sum by (le) (rate(latency_bucket[5m])))"},"successCondition":"result < 0.5","failureLimit":2}]}}`),
	)
}

// FuzzDecodeAndValidate: `go test -fuzz FuzzDecodeAndValidate ./pkg/apis/releases/install/`. Its seeds
// (the examples and testdata/fuzz) run with every `go test`.
func FuzzDecodeAndValidate(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeAndValidate(t, data)
	})
}
