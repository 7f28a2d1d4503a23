package build

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RefName is the annotation of an OCI layout's index.json that names an image in the layout by its tag
// (skopeo's and oras's oci:DIR:TAG).
const RefName = "org.opencontainers.image.ref.name"

// Index builds one image per platform, each from its own binary (binaries: platform to file), and the
// OCI image index of them: what a multi-arch tag points at. The other options are those of Image.
func Index(binaries map[string]string, opts Options) (v1.ImageIndex, error) {
	if len(binaries) == 0 {
		return nil, errors.New("no binaries")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, platform := range slices.Sorted(maps.Keys(binaries)) {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", platform, err)
		}
		o := opts
		o.Binary, o.Platform = binaries[platform], p
		img, err := Image(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", platform, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return mutate.Annotations(idx, opts.labels()).(v1.ImageIndex), nil
}

// WriteLayout writes idx to the directory dir (emptied first) as an OCI image layout whose index.json
// names idx by the tag version, and returns idx's digest: the digest it has in any registry it is pushed
// to. `skopeo copy --all oci:DIR:VERSION docker://...` pushes it as well as Push does.
func WriteLayout(dir string, idx v1.ImageIndex, version string) (v1.Hash, error) {
	if err := os.RemoveAll(dir); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{RefName: version})); err != nil {
		return v1.Hash{}, err
	}
	return idx.Digest()
}

// ReadLayout is the index WriteLayout wrote to dir for version.
func ReadLayout(dir, version string) (v1.ImageIndex, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	var found []string
	for _, d := range m.Manifests {
		found = append(found, d.Annotations[RefName])
		if d.Annotations[RefName] == version && d.MediaType.IsIndex() {
			return top.ImageIndex(d.Digest)
		}
	}
	return nil, fmt.Errorf("%s holds no image index tagged %q (it holds %q): run make release VERSION=%s", dir, version, found, version)
}

// Push writes idx, every platform's image and blob, to ref (registry/repository:tag) with the
// credentials of the Docker config (docker login, or a credential helper), reads it back by digest, and
// returns ref's repository at idx's digest.
func Push(ctx context.Context, idx v1.ImageIndex, ref string, options ...remote.Option) (name.Digest, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%q: %w", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	options = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, options...)
	if err := remote.WriteIndex(tag, idx, options...); err != nil {
		return name.Digest{}, err
	}
	pinned := tag.Context().Digest(digest.String())
	got, err := remote.Head(pinned, options...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("reading %s back: %w", pinned, err)
	}
	if got.Digest != digest {
		return name.Digest{}, fmt.Errorf("%s: the registry has %s", pinned, got.Digest)
	}
	// The tag too: it is what a reader without the digest pulls.
	if got, err := remote.Head(tag, options...); err != nil || got.Digest != digest {
		return name.Digest{}, fmt.Errorf("%s does not point at %s after the push (%v)", tag, digest, err)
	}
	return pinned, nil
}
