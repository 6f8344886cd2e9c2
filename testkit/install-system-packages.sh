#!/usr/bin/env bash
# The one setup step for the test suites' programs outside Python: Debian's
# chromium, nginx, redis-server, postgresql (initdb/postgres), wrk and curl, plus
# axe-core (npm ci in test_suites/browser/). Idempotent and quick when all is there.
#
# Not root, or no apt-get: prints what is missing and how to install it, then
# exits 0 (the tests that need it are skipped), or 1 when CI=true (CI runs them all).
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have_postgres() {
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ] && return 0
    done
    have initdb && have postgres
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
have nginx || missing+=(nginx)
have redis-server || missing+=(redis-server)
have_postgres || missing+=(postgresql)
have wrk || missing+=(wrk)
have npm || missing+=(npm)
# docs/api.md's curl examples, run by test_suites/system/test_api_server.py.
have curl || missing+=(curl)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "missing system packages: ${missing[*]}" >&2
        echo "install them as root with: apt-get install -y ${missing[*]}" >&2
        echo "(or run this script as root: $0)" >&2
        if [ "${CI:-}" = "true" ]; then
            exit 1
        fi
        echo "the tests that need them will be skipped" >&2
        exit 0
    fi
    # Debian's maintainer scripts ask /usr/sbin/policy-rc.d whether they may start
    # a service; 101 means no. The tests start their own private servers, so no
    # system-wide nginx, Redis or PostgreSQL is started. Container images often
    # ship this file already: then it is left alone.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# Written by testkit/install-system-packages.sh while installing.\nexit 101\n' \
            >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Waits for another apt-get (a second run, an admin) instead of failing.
    apt_get=(apt-get -o DPkg::Lock::Timeout=600)
    "${apt_get[@]}" update -q
    # With recommended packages, as a person would install them (fonts for Chromium).
    "${apt_get[@]}" install -y -q "${missing[@]}"
fi

# axe-core at the version pinned in test_suites/browser/package-lock.json.
browser_suite=test_suites/browser
installed="$browser_suite/node_modules/.package-lock.json"
if [ ! -f "$browser_suite/node_modules/axe-core/axe.min.js" ] \
    || [ "$browser_suite/package-lock.json" -nt "$installed" ]; then
    (cd "$browser_suite" && npm ci --no-audit --no-fund)
fi
echo "system packages for the tests: all present"
