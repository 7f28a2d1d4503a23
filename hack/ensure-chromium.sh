#!/usr/bin/env bash
# Makes sure Debian's chromium (/usr/bin/chromium) is there for the dashboard's browser tests and its
# benchmark: installs it with apt-get where it is missing and this user may, else says how and fails.
set -o errexit
set -o nounset
set -o pipefail

[[ -x /usr/bin/chromium ]] && exit 0
if command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
    echo "ensure-chromium: installing chromium (the dashboard's tests drive it)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    [[ -x /usr/bin/chromium ]] && exit 0
fi
echo "ensure-chromium: /usr/bin/chromium is missing: install Debian's chromium (apt-get install chromium)" >&2
exit 1
