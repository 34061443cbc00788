#!/usr/bin/env bash
# Installs what dynaseal needs to build and test on Debian 12: system packages through apt,
# the pinned npm test peers (tests/node) through npm ci.  Idempotent and quick when everything
# is present.  Python peers (moto, boto3, awscli) are expected on the machine's python3.
set -euo pipefail

cd "$(dirname "$0")/.."

packages=(
	build-essential pkg-config
	libevent-dev libssl-dev libcjson-dev libhiredis-dev libcmocka-dev zlib1g-dev node-llhttp
	redis-server wrk nginx-light haproxy
	clang libclang-rt-14-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# Debian starts daemons on install; the tests start their own on loopback ports.
	printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
	$sudo chmod +x /usr/sbin/policy-rc.d
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	$sudo rm -f /usr/sbin/policy-rc.d
fi

# Python test peers: on the machine's image (PyPI is not reachable from CI).
py_missing=()
for m in boto3 botocore moto; do
	python3 -c "import $m" 2>/dev/null || py_missing+=("$m")
done
command -v moto_server >/dev/null 2>&1 || py_missing+=("moto_server (moto[server])")
command -v aws >/dev/null 2>&1 || py_missing+=("aws (awscli)")
if [ ${#py_missing[@]} -gt 0 ]; then
	echo "install-deps: python3 lacks ${py_missing[*]}; trying pip" >&2
	python3 -m pip install --quiet "moto[server]" boto3 awscli || {
		echo "install-deps: cannot install ${py_missing[*]} for $(command -v python3)" >&2
		exit 1
	}
fi

# npm test peers, pinned by tests/node/package-lock.json.
lock=tests/node/package-lock.json
stamp=tests/node/node_modules/.dynaseal-installed
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
	echo "install-deps: npm ci in tests/node"
	(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
	touch "$stamp"
fi
