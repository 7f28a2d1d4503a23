//go:build e2e

package e2e

// A release as a stranger gets it: the plugin installed by `go install ...@v0.2.0` from a module proxy,
// and `make release` + `make release-push` to a registry, whose install.yaml a cluster accepts and whose
// image's binary, run as install.yaml says, drives a release to its end.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
	"github.com/triton-io/triton/test/ports"
)

const (
	modulePath = "github.com/triton-io/triton"
	// releaseVersion is the tag docs/releasing.md says to cut: higher than the module path's older v0.1.x
	// tags, so that @latest is this code.
	releaseVersion = "v0.2.0"
)

// goEnv is `go env NAME`.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// treeFile is a file of the working tree for a module zip.
type treeFile struct{ rel, abs string }

func (f treeFile) Path() string                 { return f.rel }
func (f treeFile) Lstat() (os.FileInfo, error)  { return os.Lstat(f.abs) }
func (f treeFile) Open() (io.ReadCloser, error) { return os.Open(f.abs) }

// moduleProxy writes a module proxy (the GOPROXY protocol, as files) holding this tree as modulePath at
// version: the files git tracks or would (not the ignored ones, like _output), as a tag of this commit
// would hold them, zipped by golang.org/x/mod/zip as the go command's own proxy does. It returns the
// proxy's directory.
func moduleProxy(t *testing.T, version string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", framework.Root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	require.NoError(t, err)
	var files []modzip.File
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		abs := filepath.Join(framework.Root, rel)
		if info, err := os.Lstat(abs); err != nil || !info.Mode().IsRegular() {
			continue // deleted, not committed yet; or a link
		}
		files = append(files, treeFile{rel: filepath.ToSlash(rel), abs: abs})
	}
	dir := t.TempDir()
	escaped, err := module.EscapePath(modulePath)
	require.NoError(t, err)
	at := filepath.Join(dir, filepath.FromSlash(escaped), "@v")
	require.NoError(t, os.MkdirAll(at, 0o755))
	zf, err := os.Create(filepath.Join(at, version+".zip"))
	require.NoError(t, err)
	require.NoError(t, modzip.Create(zf, module.Version{Path: modulePath, Version: version}, files))
	require.NoError(t, zf.Close())
	goMod, err := os.ReadFile(filepath.Join(framework.Root, "go.mod"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(at, version+".mod"), goMod, 0o644))
	info, err := json.Marshal(map[string]any{"Version": version, "Time": time.Now().UTC().Format(time.RFC3339)})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(at, version+".info"), info, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "list"), []byte(version+"\n"), 0o644))
	return dir
}

// The plugin installs as docs/releasing.md and the README say, by the tag: `go install
// github.com/triton-io/triton/cmd/kubectl-release@v0.2.0` from a module proxy that holds this tree as
// v0.2.0 (its dependencies from the module cache, so nothing needs the internet), and says its version.
// The module must be installable that way: no replace directives, every package it needs inside it.
func TestThePluginInstallsByItsTagFromAModuleProxy(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the plugin from a module zip")
	}
	ctx := framework.Context(t, 10*time.Minute)
	proxy := moduleProxy(t, releaseVersion)
	work := t.TempDir()
	gobin := filepath.Join(work, "bin")
	// A module cache of its own: the fake v0.2.0 must never land in the real one. Dependencies are
	// copied in from the real cache's download directory, which is itself a module proxy. -trimpath (as
	// make build) keeps the compiled dependencies' build cache entries independent of the cache's path:
	// they are reused, not compiled again. The path is new for each run: the go command indexes a module
	// cache's directories once, by path, in the build cache (a module version there never changes), so the
	// fake v0.2.0 of an earlier tree at the same path would be built from that tree's list of files.
	require.NoError(t, os.MkdirAll(filepath.Join(framework.Root, "_output"), 0o755))
	cache, err := os.MkdirTemp(filepath.Join(framework.Root, "_output"), "e2e-modcache-")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = exec.Command("chmod", "-R", "u+w", cache).Run()
		_ = os.RemoveAll(cache)
	})
	install := exec.CommandContext(ctx, "go", "install", modulePath+"/cmd/kubectl-release@"+releaseVersion)
	install.Dir = work
	install.Env = append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(goEnv(t, "GOMODCACHE"), "cache", "download")),
		"GOSUMDB=off", "GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=", "GOFLAGS=-modcacherw -trimpath", "GOWORK=off", "GOTOOLCHAIN=local",
		"GOMODCACHE="+cache, "GOBIN="+gobin, "CGO_ENABLED=0")
	out, err := install.CombinedOutput()
	require.NoError(t, err, "go install ...@%s: %s", releaseVersion, out)

	version, err := exec.CommandContext(ctx, filepath.Join(gobin, "kubectl-release"), "version", "--client").CombinedOutput()
	require.NoError(t, err, string(version))
	assert.Equal(t, "Client Version: "+releaseVersion, strings.TrimSpace(string(version)))
}

// releasePlatforms are the platforms the test builds: this machine's only (a cross-build of the server
// takes many minutes on a small machine), or with TRITON_RELEASE_FULL=true all of a real release.
func releasePlatforms() (image, plugin string, full bool) {
	if os.Getenv("TRITON_RELEASE_FULL") == "true" {
		return "linux/amd64 linux/arm64", "", true
	}
	return "linux/" + runtime.GOARCH, "linux/" + runtime.GOARCH, false
}

// releaseScript runs hack/release.sh with env.
func releaseScript(t *testing.T, ctx context.Context, command string, env ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(framework.Root, "hack", "release.sh"), command)
	cmd.Dir = framework.Root
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "hack/release.sh %s: %s", command, out)
	t.Logf("hack/release.sh %s:\n%s", command, out)
}

// A release, done: `make release VERSION=v0.2.0` and `make release-push` to a registry (in-process here),
// the image pulled back by its digest with every platform and user 65532, install.yaml naming that digest
// and accepted by the cluster (a server-side dry run), and the binary of the pulled image, run with the
// arguments and environment install.yaml gives its container, in the place of the bed's server behind its
// APIService: the APIService Available, and a release made through kube-apiserver that runs to Succeeded.
func TestAReleaseInstallsFromItsManifestAndItsImageRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release")
	}
	admin := framework.Connect(t, "admin")
	ns := framework.Namespace(t, admin)
	ctx := framework.Context(t, 30*time.Minute)
	images, plugins, full := releasePlatforms()

	// make release: the image as an OCI layout, the manifests, the plugin, checksums.
	dir := filepath.Join(t.TempDir(), "release")
	server := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(server.Close)
	reg := strings.TrimPrefix(server.URL, "http://") + "/triton-io"
	env := []string{"VERSION=" + releaseVersion, "RELEASE_DIR=" + dir, "PLATFORMS=" + images, "REGISTRY=" + reg}
	if !full {
		env = append(env, "PLUGIN_PLATFORMS="+plugins)
	}
	releaseScript(t, ctx, "build", env...)
	built, err := os.ReadFile(filepath.Join(dir, "image.digest"))
	require.NoError(t, err)
	digest := strings.TrimSpace(string(built))
	for _, f := range []string{"install.yaml", "install-ha.yaml", "checksums.txt", "notes.md",
		"kubectl-release_" + releaseVersion + "_linux_" + runtime.GOARCH + ".tar.gz"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	if full {
		assert.FileExists(t, filepath.Join(dir, "kubectl-release.krew.yaml"))
	}

	// make release-push: the index in the registry; the manifests rendered for it.
	releaseScript(t, ctx, "push", "RELEASE_DIR="+dir, "REGISTRY="+reg)
	pinned := reg + "/triton-apiserver@" + digest
	install, err := os.ReadFile(filepath.Join(dir, "install.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(install), "image: "+pinned+"\n", "install.yaml names the pushed image by digest")
	ha, err := os.ReadFile(filepath.Join(dir, "install-ha.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(ha), "image: "+pinned+"\n")
	sums := exec.CommandContext(ctx, "sha256sum", "-c", "--quiet", "checksums.txt")
	sums.Dir = dir
	out, err := sums.CombinedOutput()
	require.NoError(t, err, "the checksums after the push: %s", out)

	// Pulled back by digest: every platform, each image static and non-root.
	ref, err := name.NewDigest(pinned)
	require.NoError(t, err)
	index, err := remote.Index(ref, remote.WithContext(ctx))
	require.NoError(t, err)
	manifest, err := index.IndexManifest()
	require.NoError(t, err)
	var platforms []string
	var host v1.Image
	for _, d := range manifest.Manifests {
		require.NotNil(t, d.Platform)
		platforms = append(platforms, d.Platform.String())
		img, err := index.Image(d.Digest)
		require.NoError(t, err)
		cfg, err := img.ConfigFile()
		require.NoError(t, err)
		assert.Equal(t, "65532:65532", cfg.Config.User, d.Platform.String())
		assert.Equal(t, []string{"/triton-apiserver"}, cfg.Config.Entrypoint)
		assert.Equal(t, releaseVersion, cfg.Config.Labels["org.opencontainers.image.version"])
		assert.Equal(t, "https://github.com/triton-io/triton", cfg.Config.Labels["org.opencontainers.image.source"])
		assert.Equal(t, "Apache-2.0", cfg.Config.Labels["org.opencontainers.image.licenses"])
		if d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
			host = img
		}
	}
	assert.ElementsMatch(t, strings.Fields(images), platforms)
	if full {
		assert.ElementsMatch(t, []string{"linux/amd64", "linux/arm64"}, platforms, "a full release has both platforms")
	}
	require.NotNil(t, host, "no image for linux/%s", runtime.GOARCH)

	// The cluster accepts install.yaml as it is: a server-side dry run (nothing is changed).
	out, err = exec.CommandContext(ctx, framework.KubectlBinary, "--kubeconfig", admin.Kubeconfig, "apply", "--dry-run=server",
		"-f", filepath.Join(dir, "install.yaml")).CombinedOutput()
	require.NoError(t, err, "kubectl apply --dry-run=server -f install.yaml: %s", out)
	assert.Contains(t, string(out), "deployment.apps/triton-apiserver created (server dry run)")
	assert.Contains(t, string(out), "apiservice.apiregistration.k8s.io/v1alpha1.releases.triton.io")
	out, err = exec.CommandContext(ctx, framework.KubectlBinary, "--kubeconfig", admin.Kubeconfig, "apply", "--dry-run=server",
		"-f", filepath.Join(dir, "install-ha.yaml")).CombinedOutput()
	require.NoError(t, err, "kubectl apply --dry-run=server -f install-ha.yaml: %s", out)

	// The image runs: its binary, with the container's arguments and environment from install.yaml.
	binary := binaryOf(t, host, filepath.Join(t.TempDir(), "triton-apiserver"))
	version, err := exec.CommandContext(ctx, binary, "--version").CombinedOutput()
	require.NoError(t, err, string(version))
	assert.Equal(t, "triton-apiserver "+releaseVersion, strings.TrimSpace(string(version)))
	container := serverContainer(t, install)
	allowLeaderElection(t, ctx, admin, ns)

	// Behind the aggregator: the bed's server steps aside and the image's binary takes its port, which the
	// bed's APIService (an ExternalName Service for localhost) and resize webhook name. The bed's server comes
	// back afterwards on its own data (cleanups run last in, first out: the image's server stops first).
	stopTriton(t, ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		startTriton(t, ctx, framework.Connect(t, "admin"))
	})
	r := startFromManifest(t, "triton-release-image", binary, container, ns, bedPort(t))
	framework.WaitUntil(t, ctx, "the APIService Available on the released image's server", func(ctx context.Context) (string, bool, string) {
		ok, why := apiServiceAvailable(ctx, admin)
		return why, ok, why
	}, framework.Within(2*time.Minute))

	// A release through kube-apiserver, as a user makes one, runs to its end on the released server.
	framework.Nginx(t, ctx, admin, ns, 2)
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx,
		framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeAuto), metav1.CreateOptions{})
	require.NoError(t, err)
	rel := framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "Succeeded through the APIService", framework.Succeeded)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, rel.Status.Phase)
	assert.Len(t, framework.PodsAt(t, ctx, admin, ns, "nginx:1.28"), 2, "every pod at the new image")
	direct, err := r.client().ReleasesV1alpha1().Releases(ns).Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err, "the release is in the released server's own store: it is the one behind the APIService")
	assert.Equal(t, rel.UID, direct.UID)
}

// bedPort is the port of the bed's own triton-apiserver, which its APIService and webhook name.
func bedPort(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(framework.Local, "triton-apiserver.args"))
	require.NoError(t, err)
	args := strings.Split(strings.TrimSpace(string(raw)), "\n")
	i := slices.Index(args, "--secure-port")
	require.True(t, i >= 0 && i+1 < len(args), "the bed's server has no --secure-port")
	port, err := strconv.Atoi(args[i+1])
	require.NoError(t, err)
	return port
}

// binaryOf extracts /triton-apiserver from img's layers into file.
func binaryOf(t *testing.T, img v1.Image, file string) string {
	t.Helper()
	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		rc, err := l.Uncompressed()
		require.NoError(t, err)
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			if h.Name != "triton-apiserver" {
				continue
			}
			f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
			require.NoError(t, err)
			_, err = io.Copy(f, tr)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			require.NoError(t, rc.Close())
			return file
		}
		require.NoError(t, rc.Close())
	}
	t.Fatal("no /triton-apiserver in the image's layers")
	return ""
}

// serverContainer is the triton-apiserver container of install.yaml's Deployment.
func serverContainer(t *testing.T, manifest []byte) corev1.Container {
	t.Helper()
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var d appsv1.Deployment
		err := decoder.Decode(&d)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if d.Kind != "Deployment" || d.Name != "triton-apiserver" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == "triton-apiserver" {
				return c
			}
		}
	}
	t.Fatal("install.yaml has no Deployment triton-apiserver with a container triton-apiserver")
	return corev1.Container{}
}

// startFromManifest starts binary as the container c would run it in the cluster, with its arguments and
// environment, adapted only where a process on this machine must differ from a pod, as startReplica does
// for replicas: a free port on loopback, the embedded etcd's data in a temporary directory, the bed's
// kubeconfig instead of the in-cluster one, the bed's serving certificate (shared, as replicas share it),
// and POD_NAMESPACE (the controller's Lease) leaseNamespace. It listens on port, or on a free port if 0.
// It returns once /readyz answers 200.
func startFromManifest(t *testing.T, name, binary string, c corev1.Container, leaseNamespace string, port int) *replica {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(framework.Local, "triton-apiserver.args"))
	require.NoError(t, err)
	bed := strings.Split(strings.TrimSpace(string(raw)), "\n")
	bedFlag := func(flag string) string {
		i := slices.Index(bed, flag)
		require.True(t, i >= 0 && i+1 < len(bed), "the bed's server has no %s", flag)
		return bed[i+1]
	}
	if port == 0 {
		port = ports.Free(t)
	}
	r := &replica{port: port, secret: tritonNamespace + "/" + tritonSecret}
	dataDir := filepath.Join(t.TempDir(), "etcd")
	// Flags as TRITON_* variables (the manifests' way) or as arguments: the same adaptations.
	adapt := map[string]string{
		"secure-port":   strconv.Itoa(r.port),
		"etcd-data-dir": dataDir,
		"cert-secret":   r.secret,
	}
	r.args = []string{binary}
	for _, a := range c.Args {
		flag, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if v, ok := adapt[flag]; ok {
			a = "--" + flag + "=" + v
		}
		r.args = append(r.args, a)
	}
	kubeconfig := bedFlag("--kubeconfig")
	r.args = append(r.args, "--bind-address=127.0.0.1", "--cert-hosts="+bedFlag("--cert-hosts"),
		"--kubeconfig="+kubeconfig, "--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig)
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			r.env = append(r.env, e.Name+"="+leaseNamespace)
		case e.ValueFrom != nil:
			t.Fatalf("install.yaml's container sets %s from %+v: teach startFromManifest to adapt it", e.Name, e.ValueFrom)
		default:
			value := e.Value
			flag := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(e.Name, "TRITON_")), "_", "-")
			if v, ok := adapt[flag]; ok && strings.HasPrefix(e.Name, "TRITON_") {
				value = v
			} else if strings.HasPrefix(value, "/") {
				t.Fatalf("install.yaml's container sets %s to the path %s in the pod: teach startFromManifest to adapt it", e.Name, value)
			}
			r.env = append(r.env, e.Name+"="+value)
		}
	}
	r.name = name
	r.log = filepath.Join(framework.Local, "logs", name+".log")
	t.Logf("%s: %s\n  env %s", name, strings.Join(r.args, " "), strings.Join(r.env, " "))
	r.restart(t)
	t.Cleanup(func() { r.signal(t, syscall.SIGTERM) })
	return r
}

// make release refuses, before it builds anything, a version that is not semantic (Go modules, krew and
// image tags all need one) or that CHANGELOG.md has no entry for.
func TestMakeReleaseRefusesAVersionItCannotPublish(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t, time.Minute)
	dir := filepath.Join(t.TempDir(), "release")
	for version, why := range map[string]string{
		"":            "set VERSION",
		"0.2.0":       "not a semantic version",
		"v0.2":        "not a semantic version",
		"v0.2.0+git1": "not a semantic version",
		"v01.2.0":     "not a semantic version",
		"v99.0.0":     "CHANGELOG.md has no entry for v99.0.0",
	} {
		cmd := exec.CommandContext(ctx, filepath.Join(framework.Root, "hack", "release.sh"), "build")
		cmd.Dir = framework.Root
		cmd.Env = append(os.Environ(), "VERSION="+version, "RELEASE_DIR="+dir)
		out, err := cmd.CombinedOutput()
		assert.Error(t, err, "VERSION=%q", version)
		assert.Contains(t, string(out), why, "VERSION=%q", version)
		assert.NoDirExists(t, dir, "nothing built for VERSION=%q", version)
	}
}
