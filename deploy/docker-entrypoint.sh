#!/bin/sh
# Container entrypoint: runs `dynaseal "$@"` (the image's default arguments are `serve`) as
# PID 1, so SIGTERM reaches dynaseal and it drains requests in flight.
#
# Where a platform cannot mount a config file (an ECS task definition has no ConfigMap), the
# whole config may be given as JSON in DYNASEAL_CONFIG_JSON: it is written, readable by this
# user only, to $DYNASEAL_RUN_DIR/config.json (default /run/dynaseal, a volume in the image)
# and DYNASEAL_CONFIG is pointed at it.  The variable is then removed from the environment
# dynaseal sees.  Otherwise DYNASEAL_CONFIG (default /etc/dynaseal/config.json) is used as is.
set -eu

if [ -n "${DYNASEAL_CONFIG_JSON:-}" ]; then
	dir=${DYNASEAL_RUN_DIR:-/run/dynaseal}
	if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
		echo "docker-entrypoint: $dir is not a writable folder for uid $(id -u): mount a volume" \
			"there (ECS: a task volume whose containerPath is $dir) or set DYNASEAL_RUN_DIR" >&2
		exit 1
	fi
	umask 077
	printf '%s\n' "$DYNASEAL_CONFIG_JSON" >"$dir/config.json"
	DYNASEAL_CONFIG=$dir/config.json
	export DYNASEAL_CONFIG
	unset DYNASEAL_CONFIG_JSON
fi

# `docker run IMAGE dynaseal check` works as well as `docker run IMAGE check`.
if [ "${1:-}" = "dynaseal" ]; then
	shift
fi
# DYNASEAL_BIN lets the tests run this script against a build outside the image.
exec "${DYNASEAL_BIN:-/usr/local/bin/dynaseal}" "$@"
