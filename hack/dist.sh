#!/usr/bin/env bash
# hack/dist.sh (make dist): the kubectl-release plugin for distribution.
#
# Cross-compiles cmd/kubectl-release (static: CGO_ENABLED=0, -trimpath, stamped with VERSION) for
# linux and darwin on amd64 and arm64, and writes into _output/dist:
#   kubectl-release_${VERSION}_${os}_${arch}.tar.gz   the binary kubectl-release (and LICENSE, if the
#                                                     repository has one) at the archive's top
#   checksums.txt                                     their sha256s, in sha256sum's format
#   release.yaml                                      the krew manifest: artifacts/krew/release.yaml
#                                                     with the version and the sha256s filled in
# The archive for the machine it runs on is unpacked and its binary must print its version.
#
# VERSION: from the environment, else `git describe --tags --always --dirty`. krew wants a
# semantic version with a leading v (v0.2.0); the script says so when VERSION is not one.
# DIST: the output directory (emptied first), _output/dist unless set (make release sets its own).
# PLUGIN_PLATFORMS: a space-separated subset of the platforms, for a quick local build; the krew manifest
# needs them all and is left out otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

GO=${GO:-go}
DIST=${DIST:-_output/dist}
TEMPLATE=artifacts/krew/release.yaml
ALL_PLATFORMS=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)
read -r -a PLATFORMS <<<"${PLUGIN_PLATFORMS:-${ALL_PLATFORMS[*]}}"
for platform in "${PLATFORMS[@]}"; do
	if [[ " ${ALL_PLATFORMS[*]} " != *" $platform "* ]]; then
		echo "hack/dist.sh: PLUGIN_PLATFORMS: $platform is not one of ${ALL_PLATFORMS[*]}" >&2
		exit 1
	fi
done

if [[ -z ${VERSION:-} ]]; then
	VERSION=$(git describe --tags --always --dirty) || {
		echo "hack/dist.sh: git describe failed; set VERSION" >&2
		exit 1
	}
fi
if [[ ! $VERSION =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]]; then
	echo "hack/dist.sh: VERSION '$VERSION' cannot be part of a file name" >&2
	exit 1
fi
if [[ ! $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	echo "hack/dist.sh: warning: VERSION '$VERSION' is not vMAJOR.MINOR.PATCH; krew refuses such a manifest (tag a release, or set VERSION=v0.2.0)" >&2
fi

sha256() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$@"
	else
		shasum -a 256 "$@"
	fi
}

rm -rf "$DIST"
mkdir -p "$DIST"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for platform in "${PLATFORMS[@]}"; do
	os=${platform%/*}
	arch=${platform#*/}
	name=kubectl-release_${VERSION}_${os}_${arch}
	echo "building $name" >&2
	mkdir -p "$work/$name"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath \
		-ldflags "-s -w -X github.com/triton-io/triton/pkg/version.version=$VERSION" \
		-o "$work/$name/kubectl-release" ./cmd/kubectl-release
	files=(kubectl-release)
	if [[ -f LICENSE ]]; then
		cp LICENSE "$work/$name/LICENSE"
		files+=(LICENSE)
	fi
	# gzip -n: no name or time in the gzip header.
	tar -C "$work/$name" -cf - "${files[@]}" | gzip -n -9 >"$DIST/$name.tar.gz"
done

(cd "$DIST" && sha256 ./*.tar.gz | sed 's#  \./#  #' >checksums.txt)

# The krew manifest: the template without its comment lines, its placeholders filled in. It names an
# archive for every platform: without all of them built, there is none.
if [[ ${#PLATFORMS[@]} -ne ${#ALL_PLATFORMS[@]} ]]; then
	echo "hack/dist.sh: PLUGIN_PLATFORMS is a subset (${PLATFORMS[*]}): no krew manifest" >&2
	manifest=
else
	manifest=$(grep -v '^#' "$TEMPLATE")
fi
manifest=${manifest//'${VERSION}'/$VERSION}
for platform in "${PLATFORMS[@]}"; do
	os=${platform%/*}
	arch=${platform#*/}
	sum=$(awk -v f="kubectl-release_${VERSION}_${os}_${arch}.tar.gz" '$2 == f { print $1 }' "$DIST/checksums.txt")
	[[ -n $sum ]] || {
		echo "hack/dist.sh: no checksum for $os/$arch" >&2
		exit 1
	}
	manifest=${manifest//"\${SHA256_${os}_${arch}}"/$sum}
done
if [[ -n $manifest ]]; then
	if grep -q '\${' <<<"$manifest"; then
		echo "hack/dist.sh: $TEMPLATE has a placeholder this script does not fill:" >&2
		grep '\${' <<<"$manifest" >&2
		exit 1
	fi
	printf '%s\n' "$manifest" >"$DIST/release.yaml"
fi

# The archive for this machine: it unpacks, and its binary says its version.
host="$("$GO" env GOHOSTOS)_$("$GO" env GOHOSTARCH)"
archive=$DIST/kubectl-release_${VERSION}_${host}.tar.gz
if [[ -f $archive ]]; then
	mkdir "$work/check"
	tar -C "$work/check" -xzf "$archive"
	got=$("$work/check/kubectl-release" version --client)
	if [[ $got != "Client Version: $VERSION" ]]; then
		echo "hack/dist.sh: $archive: the binary says '$got', not 'Client Version: $VERSION'" >&2
		exit 1
	fi
	echo "checked $archive: $got" >&2
fi

ls -l "$DIST" >&2
