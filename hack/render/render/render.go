// Package render renders the deploy manifests (artifacts/deploy, with components) into one file to
// `kubectl apply -f`, with triton-apiserver's image pinned by digest: a release's install.yaml. It runs
// kustomize's own library (krusty), as `kubectl apply -k` does, so that it needs no kustomize binary.
package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// ImageName is the name the manifests give triton-apiserver's image before the kustomization's images
// stanza renames it.
const ImageName = "triton-apiserver"

// Options say what to render.
type Options struct {
	// Dir is the kustomization: artifacts/deploy.
	Dir string
	// Components are directories of Dir/components to add, in order.
	Components []string
	// Image is triton-apiserver's image by digest: registry/path/triton-apiserver@sha256:....
	Image string
	// Header is a comment put first, one "# " line per line.
	Header string
}

// Render renders the manifests.
func Render(opts Options) ([]byte, error) {
	repository, digest, err := splitDigest(opts.Image)
	if err != nil {
		return nil, err
	}
	base, err := baseImageName(opts.Dir)
	if err != nil {
		return nil, err
	}
	mem := filesys.MakeFsInMemory()
	if err := copyDir(mem, opts.Dir, "/deploy"); err != nil {
		return nil, err
	}
	overlay := kustypes.Kustomization{
		TypeMeta:  kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources: []string{"../deploy"},
		Images:    []kustypes.Image{{Name: base, NewName: repository, Digest: digest}},
	}
	for _, c := range opts.Components {
		if _, err := os.Stat(filepath.Join(opts.Dir, "components", c, "kustomization.yaml")); err != nil {
			return nil, fmt.Errorf("component %q: %w", c, err)
		}
		overlay.Components = append(overlay.Components, "../deploy/components/"+c)
	}
	k, err := yaml.Marshal(overlay)
	if err != nil {
		return nil, err
	}
	if err := mem.MkdirAll("/overlay"); err != nil {
		return nil, err
	}
	if err := mem.WriteFile("/overlay/kustomization.yaml", k); err != nil {
		return nil, err
	}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/overlay")
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", opts.Dir, err)
	}
	rendered, err := resources.AsYaml()
	if err != nil {
		return nil, err
	}
	if err := pinned(rendered, base, opts.Image); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if opts.Header != "" {
		for _, line := range strings.Split(strings.TrimRight(opts.Header, "\n"), "\n") {
			out.WriteString(strings.TrimRight("# "+line, " ") + "\n")
		}
	}
	out.Write(rendered)
	return out.Bytes(), nil
}

// splitDigest splits repository@sha256:... and checks it names an image by digest.
func splitDigest(image string) (repository, digest string, err error) {
	if _, err := name.NewDigest(image, name.StrictValidation); err != nil {
		return "", "", fmt.Errorf("image %q: want REGISTRY/PATH@sha256:...: %w", image, err)
	}
	repository, digest, _ = strings.Cut(image, "@")
	return repository, digest, nil
}

// baseImageName is the name triton-apiserver's image has after the kustomization's own images stanza:
// the name the overlay's images stanza must match.
func baseImageName(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return "", err
	}
	var k kustypes.Kustomization
	if err := yaml.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	for _, i := range k.Images {
		if i.Name == ImageName && i.NewName != "" {
			return i.NewName, nil
		}
	}
	return ImageName, nil
}

// pinned checks that every container of every pod template whose image is triton-apiserver's (by name
// before or after the rename) runs image, and that there is one.
func pinned(rendered []byte, base, image string) error {
	repository, _, _ := strings.Cut(image, "@")
	found := 0
	for _, doc := range bytes.Split(rendered, []byte("\n---\n")) {
		var obj struct {
			Kind     string
			Metadata struct{ Name string }
			Spec     struct {
				Template struct {
					Spec struct {
						Containers, InitContainers []struct{ Name, Image string }
					}
				}
			}
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return err
		}
		pod := obj.Spec.Template.Spec
		for _, c := range append(pod.Containers, pod.InitContainers...) {
			repo := imageRepository(c.Image)
			if repo != ImageName && repo != base && repo != repository && path.Base(repo) != ImageName {
				continue
			}
			if c.Image != image {
				return fmt.Errorf("%s %s: container %s runs %s, not %s", obj.Kind, obj.Metadata.Name, c.Name, c.Image, image)
			}
			found++
		}
	}
	if found == 0 {
		return fmt.Errorf("no container runs %s (no image %s or %s in the manifests)", image, ImageName, base)
	}
	return nil
}

// imageRepository is an image reference without its tag or digest.
func imageRepository(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// copyDir copies the directory tree from (on disk) to the directory to of fs, but for Go files.
func copyDir(mem filesys.FileSystem, from, to string) error {
	var files []string
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		target := path.Join(to, filepath.ToSlash(rel))
		if d.IsDir() {
			return mem.MkdirAll(target)
		}
		if d.Type().IsRegular() && !strings.HasSuffix(p, ".go") {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(from, rel))
		if err != nil {
			return err
		}
		if err := mem.WriteFile(path.Join(to, filepath.ToSlash(rel)), data); err != nil {
			return err
		}
	}
	return nil
}
