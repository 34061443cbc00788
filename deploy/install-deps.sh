#!/usr/bin/env bash
# Installs what dynaseal needs to build and test on Debian 12: system packages through apt,
# the pinned npm test peers (tests/node) through npm ci.  Idempotent and quick (well under 2 s)
# when everything is present: apt is asked only when dpkg lacks a package, npm only when
# node_modules is missing or older than package-lock.json.  The Python test peers (boto3,
# botocore, moto with its server, awscli) come with the machine's python3: PyPI is not
# reachable, so this only checks them and names what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."

packages=(
	build-essential pkg-config
	libevent-dev libssl-dev libcjson-dev libhiredis-dev libcmocka-dev zlib1g-dev node-llhttp
	redis-server redis-tools wrk nginx-light haproxy
	clang libclang-rt-14-dev valgrind
)
# Daemons that Debian may start on install; the tests start their own on loopback ports.
services=(redis-server nginx haproxy)

# --- Debian packages -------------------------------------------------------------------------
# One dpkg-query for all: a package is present when its status is "install ok installed".
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for p in "${packages[@]}"; do
	grep -qx "$p install ok installed" <<<"$installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	running_before=" "
	for s in "${services[@]}"; do
		pgrep -x "$s" >/dev/null 2>&1 && running_before+="$s "
	done
	# Keep maintainer scripts from starting daemons: a policy-rc.d that refuses (exit 101),
	# unless the machine already has one, which is then left as it is.
	own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
		$sudo chmod +x /usr/sbin/policy-rc.d
		own_policy=1
		trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	if [ "$own_policy" = 1 ]; then
		$sudo rm -f /usr/sbin/policy-rc.d
		trap - EXIT
	fi
	# Whatever was started all the same (by an init system that ignores policy-rc.d) is stopped.
	for s in "${services[@]}"; do
		case "$running_before" in *" $s "*) continue ;; esac
		if pgrep -x "$s" >/dev/null 2>&1; then
			echo "install-deps: stopping the $s service the install started"
			$sudo service "$s" stop >/dev/null 2>&1 || echo "install-deps: could not stop $s" >&2
		fi
	done
fi

# --- Python test peers -----------------------------------------------------------------------
py_missing=$(python3 - <<'EOF'
import importlib.util
# moto's server needs flask, flask_cors and werkzeug (moto[server]).
mods = ["boto3", "botocore", "moto", "flask", "flask_cors", "werkzeug"]
print(" ".join(m for m in mods if importlib.util.find_spec(m) is None))
EOF
)
command -v moto_server >/dev/null 2>&1 || py_missing+=" moto_server(moto[server])"
command -v aws >/dev/null 2>&1 || py_missing+=" aws(awscli)"
py_missing=${py_missing# }
if [ -n "$py_missing" ]; then
	echo "install-deps: $(command -v python3) lacks: $py_missing" >&2
	echo "install-deps: the integration tests need boto3, botocore, moto[server] 5.x and awscli on" \
		"that python3 (and moto_server, aws on PATH); PyPI is not reachable here" >&2
	exit 1
fi

# --- npm test peers, pinned by tests/node/package-lock.json ----------------------------------
lock=tests/node/package-lock.json
stamp=tests/node/node_modules/.dynaseal-installed
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ tests/node/package.json -nt "$stamp" ]; then
	echo "install-deps: npm ci in tests/node"
	(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
	touch "$stamp"
fi
