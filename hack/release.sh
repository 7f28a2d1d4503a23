#!/usr/bin/env bash
# hack/release.sh: a release of Triton, everything a user installs, in _output/release.
#
#   hack/release.sh build   (make release VERSION=vX.Y.Z)
#   hack/release.sh push    (make release-push [REGISTRY=host/path])
#
# build writes into _output/release (emptied first):
#   image/                           the multi-platform image of triton-apiserver: an OCI image index of one
#                                    image per platform (static binaries, user 65532, no shell), as an OCI
#                                    layout directory tagged VERSION, made by hack/image from Go code alone
#   image.digest                     the index's digest (sha256:...), the same in any registry
#   install.yaml                     artifacts/deploy rendered, the image pinned by digest:
#                                    ${REGISTRY}/triton-apiserver@sha256:...
#   install-ha.yaml                  the same with the high-availability component: replicated-etcd (or,
#                                    while the repository has none, high-availability)
#   kubectl-release_VERSION_OS_ARCH.tar.gz
#                                    the plugin (hack/dist.sh), with LICENSE
#   kubectl-release.krew.yaml        its krew manifest
#   notes.md                         the CHANGELOG's entry for VERSION: the release notes
#   checksums.txt                    the sha256 of every file above (and of the layout's), for sha256sum -c
# push pushes the image index (every platform's image) to ${REGISTRY}/triton-apiserver:VERSION, reads
# it back by digest, renders install.yaml and install-ha.yaml again for that registry, and writes the
# checksums again.
#
# VERSION (build): required, a semantic version vMAJOR.MINOR.PATCH[-PRERELEASE] with an entry in
#   CHANGELOG.md; push takes the version of the release build wrote, and refuses another.
# REGISTRY: where the image is (pushed), ghcr.io/triton-io unless set.
# RELEASE_DIR: the output directory instead of _output/release (the tests' own).
# PLATFORMS: the image's platforms, "linux/amd64 linux/arm64" unless set; PLUGIN_PLATFORMS the plugin's,
#   all four unless set (hack/dist.sh). A subset is for a quick local check, not a release: the script
#   says so, and then there is no krew manifest.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

GO=${GO:-go}
OUT=${RELEASE_DIR:-_output/release}
REGISTRY=${REGISTRY:-ghcr.io/triton-io}
REGISTRY=${REGISTRY%/}
ALL_PLATFORMS="linux/amd64 linux/arm64"
PLATFORMS=${PLATFORMS:-$ALL_PLATFORMS}
STATE=$OUT/.release

die() {
	echo "hack/release.sh: $*" >&2
	exit 1
}

sha256() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$@"
	else
		shasum -a 256 "$@"
	fi
}

# The component install-ha.yaml adds: replicated-etcd, the high-availability of the embedded etcd, once
# the repository has it; high-availability (an external etcd) before.
ha_component() {
	if [[ -f artifacts/deploy/components/replicated-etcd/kustomization.yaml ]]; then
		echo replicated-etcd
	else
		echo high-availability
	fi
}

# render IMAGE: install.yaml and install-ha.yaml for the image by digest.
render() {
	local image=$1 ha
	ha=$(ha_component)
	"$GO" run ./hack/render -image "$image" -version "$VERSION" -o "$OUT/install.yaml"
	"$GO" run ./hack/render -image "$image" -version "$VERSION" -component "$ha" -o "$OUT/install-ha.yaml"
	echo "rendered $OUT/install.yaml and $OUT/install-ha.yaml (component $ha) with $image" >&2
}

checksums() {
	(cd "$OUT" && find . -type f ! -name checksums.txt ! -name '.*' | LC_ALL=C sort | sed 's#^\./##' |
		while read -r f; do sha256 "$f"; done >checksums.txt)
}

build() {
	[[ -n ${VERSION:-} ]] || die "set VERSION: make release VERSION=v0.2.0"
	# Semantic versioning, as Go modules, krew and image tags all take it: no build metadata (+...), which
	# an image tag cannot hold.
	local semver='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'
	[[ $VERSION =~ $semver ]] || die "VERSION '$VERSION' is not a semantic version vMAJOR.MINOR.PATCH[-PRERELEASE] (e.g. v0.2.0)"
	grep -Eq "^## \[?${VERSION//./\\.}\]?( |$)" CHANGELOG.md ||
		die "CHANGELOG.md has no entry for $VERSION (a heading '## [$VERSION] - YYYY-MM-DD'): write what users get first"
	[[ -f LICENSE ]] || die "no LICENSE: a release ships its license in the plugin's archives and names it in the image"
	local licenses=${LICENSES:-}
	if [[ -z $licenses ]]; then
		if grep -q 'Apache License' LICENSE && grep -q 'Version 2.0' LICENSE; then
			licenses=Apache-2.0
		else
			die "set LICENSES to the SPDX expression of LICENSE"
		fi
	fi
	local revision
	revision=$(git rev-parse HEAD 2>/dev/null) || revision=
	if [[ -n $revision ]]; then
		if [[ $(git describe --tags --exact-match 2>/dev/null || true) != "$VERSION" ]]; then
			echo "hack/release.sh: warning: HEAD is not tagged $VERSION: tag it (docs/releasing.md) before you publish" >&2
		fi
		if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
			echo "hack/release.sh: warning: the working tree has changes that are not committed: the binaries say so (vcs.modified)" >&2
		fi
	fi
	local full=true
	[[ $PLATFORMS == "$ALL_PLATFORMS" && -z ${PLUGIN_PLATFORMS:-} ]] || full=false

	rm -rf "$OUT"
	mkdir -p "$OUT"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT

	# The server, for each platform: static, without the test-only tags (hack/image refuses those).
	local ldflags="-s -w -X github.com/triton-io/triton/pkg/version.version=$VERSION" binaries=() platform
	for platform in $PLATFORMS; do
		[[ $platform == linux/* ]] || die "PLATFORMS: $platform: the image is for linux"
		echo "building triton-apiserver for $platform" >&2
		mkdir -p "$work/$platform"
		CGO_ENABLED=0 GOOS=${platform%%/*} GOARCH=${platform#*/} "$GO" build -trimpath -ldflags "$ldflags" \
			-o "$work/$platform/triton-apiserver" ./cmd/triton-apiserver
		binaries+=(-binary "$platform=$work/$platform/triton-apiserver")
	done
	"$GO" run ./hack/image index "${binaries[@]}" -version "$VERSION" -revision "$revision" -licenses "$licenses" \
		-layout "$OUT/image" -digest-file "$OUT/image.digest" >/dev/null
	local digest
	digest=$(<"$OUT/image.digest")

	render "$REGISTRY/triton-apiserver@$digest"

	# The plugin: archives and the krew manifest (all platforms only).
	DIST="$work/dist" VERSION="$VERSION" hack/dist.sh
	cp "$work"/dist/*.tar.gz "$OUT/"
	if [[ -f $work/dist/release.yaml ]]; then
		cp "$work/dist/release.yaml" "$OUT/kubectl-release.krew.yaml"
	fi

	# The release notes: the CHANGELOG's entry, without its heading.
	awk -v v="$VERSION" '
		/^## / { if (on) exit; if ($2 == v || $2 == "[" v "]") { on = 1; next } }
		on { print }
	' CHANGELOG.md | sed -e '/./,$!d' >"$OUT/notes.md"

	printf 'VERSION=%s\nDIGEST=%s\nFULL=%s\n' "$VERSION" "$digest" "$full" >"$STATE"
	checksums
	echo >&2
	echo "release $VERSION in $OUT: image $REGISTRY/triton-apiserver@$digest (not pushed: make release-push)" >&2
	if [[ $full != true ]]; then
		echo "hack/release.sh: warning: PLATFORMS='$PLATFORMS' PLUGIN_PLATFORMS='${PLUGIN_PLATFORMS:-}': a partial build for a check, not a release to publish" >&2
	fi
	ls -l "$OUT" >&2
}

push() {
	if [[ ! -f $STATE ]]; then
		# A fresh clone: build the release first (it needs VERSION, as make release does).
		echo "hack/release.sh: no release in $OUT yet: building it first" >&2
		build
	fi
	local built digest full
	built=$(sed -n 's/^VERSION=//p' "$STATE")
	digest=$(sed -n 's/^DIGEST=//p' "$STATE")
	full=$(sed -n 's/^FULL=//p' "$STATE")
	if [[ -n ${VERSION:-} && $VERSION != "$built" ]]; then
		die "$OUT holds the release $built, not $VERSION"
	fi
	VERSION=$built
	if [[ $full != true ]]; then
		echo "hack/release.sh: warning: $OUT is a partial build (some platforms only)" >&2
	fi
	(cd "$OUT" && sha256 -c --quiet checksums.txt) || die "$OUT does not match its checksums.txt"
	local pinned
	pinned=$("$GO" run ./hack/image push -layout "$OUT/image" -version "$VERSION" -repository "$REGISTRY/triton-apiserver")
	[[ $pinned == "$REGISTRY/triton-apiserver@$digest" ]] ||
		die "pushed $pinned, but the release's index is $digest"
	render "$pinned"
	checksums
	echo "pushed $REGISTRY/triton-apiserver:$VERSION, $pinned; install.yaml and install-ha.yaml name it" >&2
}

case ${1:-} in
build) build ;;
push) push ;;
*)
	echo "usage: hack/release.sh build|push (make release VERSION=vX.Y.Z, make release-push REGISTRY=host/path)" >&2
	exit 2
	;;
esac
