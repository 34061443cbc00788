#!/usr/bin/env bash
# Installs what dynaseal needs on Debian 12, for the profiles named on the command line (none:
# all of them).  The Makefile runs it with the profile of each target before the target's work:
#   build   the compiler, pkg-config, the -dev libraries the Makefile asks pkg-config for, and
#           node-llhttp (llhttp's C sources): make, make all
#   unit    build + cmocka, redis-server (the Redis cache suite starts one), a python3 with
#           botocore (the SigV4 suite checks its signatures against botocore's; Debian's
#           python3-botocore when python3 has none), and moto_server (the KMS client's suite):
#           make unit
#   demo    build + python3, Node.js with npm and the npm peers of tests/node (dynalite), an AWS
#           CLI: make demo, make run.  Debian 12's own nodejs (18) and awscli (2.9) do.
#   test    unit + demo + redis, nginx, haproxy, valgrind, and the Python test peers: make test,
#           integration, faults, soak, integration-san, integration-valgrind
#   fuzz    build + clang and its sanitizer runtime, python3: make fuzz
#   bench   test + wrk: make bench
#   fresh   debootstrap, git, ps: make fresh-demo
#   all     every profile (CI)
# System packages come through apt, the npm peers pinned by tests/node/package-lock.json
# through npm ci.  Idempotent and quick (well under 2 s) when everything is present: apt is
# asked only when dpkg lacks a package, npm only when node_modules is missing or older than
# package-lock.json.  The Python test peers (boto3, botocore, moto with its server, PyYAML)
# come with the machine's python3: PyPI is not reachable and Debian 12 has no moto, so the
# test profile only checks them, before installing anything, and names what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
started=$SECONDS

# The build profile's packages.  The Dockerfile's build stage installs the same list
# (tests/integration/test_deploy.py reads this one).
packages=(
	build-essential pkg-config
	libevent-dev libssl-dev libcjson-dev libhiredis-dev zlib1g-dev libgmp-dev node-llhttp
)
unit_packages=(libcmocka-dev redis-server)   # test_cache_redis starts a real redis-server
test_packages=(redis-server redis-tools nginx-light haproxy valgrind)
fuzz_packages=(clang libclang-rt-14-dev)
bench_packages=(wrk)
fresh_packages=(debootstrap git procps)
# Daemons that Debian may start on install; the tests start their own on loopback ports.
services=(redis-server nginx haproxy)

# --- profiles --------------------------------------------------------------------------------
declare -A on=()
enable() {
	case "$1" in
	build) ;;
	unit | demo | fuzz) enable build ;;
	test) enable unit; enable demo ;;
	bench) enable test ;;
	fresh) ;;
	all) for p in build unit demo test fuzz bench fresh; do enable "$p"; done; return ;;
	*)
		echo "install-deps: unknown profile \"$1\"; the profiles are build, unit, demo, test," \
			"fuzz, bench, fresh and all" >&2
		exit 2
		;;
	esac
	on[$1]=1
}
[ $# -gt 0 ] || set -- all
for p in "$@"; do enable "$p"; done
profiles=$(printf '%s\n' "${!on[@]}" | sort | paste -sd' ')

want=()
commands=()  # "command package": the package is installed when the command is not on PATH
[ -n "${on[build]:-}" ] && want+=("${packages[@]}")
[ -n "${on[unit]:-}" ] && want+=("${unit_packages[@]}")
# The suite runs $DS_PYTHON, else python3.
has_botocore() { "${DS_PYTHON:-python3}" -c 'import botocore' >/dev/null 2>&1; }
if [ -n "${on[unit]:-}" ] && ! has_botocore; then
	want+=(python3-botocore)
	commands+=("python3 python3")
fi
[ -n "${on[test]:-}" ] && want+=("${test_packages[@]}")
[ -n "${on[fuzz]:-}" ] && want+=("${fuzz_packages[@]}") && commands+=("python3 python3")
[ -n "${on[bench]:-}" ] && want+=("${bench_packages[@]}")
[ -n "${on[fresh]:-}" ] && want+=("${fresh_packages[@]}")
# Commands, not packages: a machine may have them from elsewhere (a python3 of its own, Node.js
# from NodeSource with its npm, an AWS CLI installed with pip), and then those are used.
[ -n "${on[demo]:-}" ] && commands+=("python3 python3" "node nodejs" "npm npm" "aws awscli")

# --- Python test peers: checked first, since nothing here can install them ---------------------
# Usage: need_python PROFILE WHAT MODULE... : stops with a message when python3 lacks a module or
# moto_server is not on PATH.
need_python() {
	local profile=$1 what=$2 missing=""
	shift 2
	if command -v python3 >/dev/null 2>&1; then
		missing=$(python3 -c 'import importlib.util, sys
print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))' "$@")
	else
		missing="python3 $*"
	fi
	command -v moto_server >/dev/null 2>&1 || missing+=" moto_server(moto[server])"
	missing=${missing# }
	[ -z "$missing" ] && return 0
	echo "install-deps: the $profile profile needs $what, and moto_server on PATH; Debian 12 has" \
		"no moto and PyPI is not reachable here, so they must come with the machine." >&2
	echo "install-deps: missing on $(command -v python3 || echo 'this machine'): $missing" >&2
	echo "install-deps: nothing was installed; make demo needs none of them." >&2
	exit 1
}
# moto's server needs flask, flask_cors and werkzeug (moto[server]); yaml is PyYAML.
if [ -n "${on[test]:-}" ]; then
	need_python test "a python3 with boto3, botocore, moto[server] 5.x and PyYAML" \
		boto3 botocore moto flask flask_cors werkzeug yaml
elif [ -n "${on[unit]:-}" ]; then
	# The KMS client's suite (tests/unit/test_kms.c) talks to moto's KMS.
	need_python unit "moto[server] 5.x (the KMS client's suite runs against moto's KMS)" \
		moto flask flask_cors werkzeug
fi

# --- Debian packages -------------------------------------------------------------------------
# One dpkg-query for all: a package is present when its status is "install ok installed".
missing=()
if [ ${#want[@]} -gt 0 ]; then
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]}" 2>/dev/null || true)
	for p in "${want[@]}"; do
		grep -qx "$p install ok installed" <<<"$installed" || missing+=("$p")
	done
fi
for c in "${commands[@]}"; do
	command -v "${c% *}" >/dev/null 2>&1 || missing+=("${c#* }")
done
# One of each, in order.
if [ ${#missing[@]} -gt 0 ]; then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]} (profile ${profiles// /, })"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	# The Debian service itself (its init script's pidfile), not any process of that name: the
	# tests of others on this machine run their own redis-server and nginx.
	service_up() { service "$1" status >/dev/null 2>&1; }
	running_before=" "
	for s in "${services[@]}"; do
		service_up "$s" && running_before+="$s "
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
		if service_up "$s"; then
			echo "install-deps: stopping the $s service the install started"
			$sudo service "$s" stop >/dev/null 2>&1 || echo "install-deps: could not stop $s" >&2
		fi
	done
fi

if [ -n "${on[unit]:-}" ] && ! has_botocore; then
	echo "install-deps: $(command -v "${DS_PYTHON:-python3}") has no botocore, which the SigV4 unit suite uses;" \
		"Debian's python3-botocore is for /usr/bin/python3 (DS_PYTHON=/usr/bin/python3 picks it)" >&2
	exit 1
fi

# --- npm peers, pinned by tests/node/package-lock.json -----------------------------------------
npm_ran=0
if [ -n "${on[demo]:-}" ]; then
	lock=tests/node/package-lock.json
	stamp=tests/node/node_modules/.dynaseal-installed
	if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ tests/node/package.json -nt "$stamp" ]; then
		echo "install-deps: npm ci in tests/node"
		(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
		touch "$stamp"
		npm_ran=1
	fi
fi

if [ ${#missing[@]} -gt 0 ] || [ "$npm_ran" = 1 ]; then
	echo "install-deps: ready for ${profiles// /, } in $((SECONDS - started)) s"
fi
