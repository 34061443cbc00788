#!/usr/bin/env bash
# make fresh-demo: the README's first command, as the first command on a bare Debian 12.
# Debootstraps bookworm (minbase, with make and git only) into a folder, clones this
# repository's HEAD into it, gives it this machine's registry setup (apt sources, local CA
# certificates, npm's cafile, proxy and CA variables: what every machine of this kind has), and
# runs the first command of the README's Quickstart (make demo) there, in a chroot inside new
# mount and pid namespaces: the mounts exist only in that namespace, and every process started
# in it ends with it.  Passes only when the command exits 0, the demo printed its own
# "demo: OK", and nothing is left running.  Prints how long each part took; the whole output,
# each line with the second it came at, is kept in build/fresh/first_run.log.  Needs root.
#   FRESH_REV=REV        the commit to clone (default HEAD; uncommitted changes are not in it)
#   FRESH_COMMAND=CMD    runs CMD instead of the README's command and asks only its exit 0
#   FRESH_CACHE=DIR      keeps the debootstrapped base there for 7 days (default
#                        /var/cache/dynaseal-fresh; empty: debootstrap every time)
#   FRESH_MIRROR=URL     the Debian mirror (default: the one in this machine's apt sources)
#   FRESH_TIMEOUT=S      stops the run after S seconds (default 1200)
#   FRESH_SHARED=1       copies ../shared beside the clone, as CI has it (the unit suites and
#                        make fuzz read the published vectors there; the demo needs nothing of it)
#   FRESH_KEEP=1         keeps the folder afterwards, to look inside
set -euo pipefail

cd "$(dirname "$0")/../.."
repo=$PWD
rev=$(git rev-parse --verify "${FRESH_REV:-HEAD}^{commit}")
cache=${FRESH_CACHE-/var/cache/dynaseal-fresh}
timeout_s=${FRESH_TIMEOUT:-1200}
suite=bookworm

fail() { echo "fresh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mount)"
for c in debootstrap unshare chroot git ps timeout; do
	command -v "$c" >/dev/null 2>&1 || fail "$c is missing: deploy/install-deps.sh fresh installs it"
done

# --- what to run: the first line of the README's Quickstart block ------------------------------
if [ -n "${FRESH_COMMAND:-}" ]; then
	cmd=$FRESH_COMMAND
else
	readme=$(git show "$rev:README.md")
	cmd=$(awk '/^## Quickstart/ { q = 1 } q && /^```/ { b = 1; next } b { print; exit }' <<<"$readme")
	cmd=${cmd%%#*}
	cmd=$(echo $cmd)  # trimmed
	[ -n "$cmd" ] || fail "no command found in the README's Quickstart"
fi

# --- the Debian mirror this machine's apt uses ---------------------------------------------------
mirror=${FRESH_MIRROR:-}
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
	# deb822: the URIs of the first stanza whose Suites has bookworm itself.
	mirror=$(awk -v suite="$suite" 'BEGIN { RS = "" } {
		u = ""; s = 0; n = split($0, line, "\n")
		for (i = 1; i <= n; i++) {
			m = split(line[i], w, /[ \t]+/)
			if (w[1] == "URIs:") u = w[2]
			if (w[1] == "Suites:") for (j = 2; j <= m; j++) if (w[j] == suite) s = 1
		}
		if (s && u != "") { print u; exit }
	}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
	mirror=$(awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

# --- cleanup: whatever happens, nothing mounted, nothing running, no folder left ---------------
root=""
runner=""
reader=""
work=$(mktemp -d "${TMPDIR:-/var/tmp}/dynaseal-fresh.XXXXXX")
root=$work/root
# Processes whose root is the chroot (none once the namespace is gone).
in_chroot() {
	local d
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/root" 2>/dev/null)" = "$root" ] && echo "${d#/proc/}"
	done
	return 0
}
cleanup() {
	local rc=$? p m
	trap - EXIT INT TERM
	[ -n "$runner" ] && kill "$runner" 2>/dev/null && wait "$runner" 2>/dev/null
	[ -n "$reader" ] && wait "$reader" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(in_chroot)" ] && break; sleep 0.5; done
	for p in $(in_chroot); do
		echo "fresh: process $p was still running in the chroot; killing it" >&2
		kill -9 "$p" 2>/dev/null || true
		rc=1
	done
	# The mounts were made in a private namespace; this finds any that escaped it.
	while read -r m; do
		echo "fresh: unmounting $m" >&2
		umount -l "$m" || rc=1
	done < <(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r)
	if [ "${FRESH_KEEP:-0}" = 1 ]; then
		echo "fresh: kept $work" >&2
	else
		rm -rf --one-file-system "$work" || rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p build/fresh
log=$repo/build/fresh/first_run.log
t_all=$SECONDS

# --- the base system: Debian 12 with make and git, nothing else ------------------------------------
t=$SECONDS
base_how=debootstrap
key="$suite-minbase-make-git-$(printf '%s' "$mirror" | md5sum | cut -c1-8)"
base=${cache:+$cache/$key.tar}
mkdir -p "$root"
if [ -n "$base" ] && [ -f "$base" ] && [ -z "$(find "$base" -mtime +7)" ]; then
	base_how="cached debootstrap ($base)"
	tar --numeric-owner -C "$root" -xpf "$base"
else
	echo "fresh: debootstrap $suite (minbase + make, git) from $mirror"
	if ! debootstrap --variant=minbase --include=make,git "$suite" "$root" "$mirror" \
		>"$work/debootstrap.log" 2>&1; then
		tail -20 "$work/debootstrap.log" >&2
		fail "debootstrap failed"
	fi
	if [ -n "$base" ]; then
		mkdir -p "$cache"
		tar --numeric-owner -C "$root" -cf "$base.$$" . && mv "$base.$$" "$base"
	fi
fi
t_base=$((SECONDS - t))

# --- this machine's registry setup: what a new machine of this kind has before any command -------
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
	rm -f "$root/etc/apt/sources.list"
fi
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
[ -f /etc/npmrc ] && cp /etc/npmrc "$root/etc/npmrc"
envs=(HOME=/root LANG=C.UTF-8 TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR http_proxy https_proxy no_proxy \
	HTTP_PROXY HTTPS_PROXY NO_PROXY; do
	[ -n "${!v:-}" ] && envs+=("$v=${!v}")
done

# --- a clone of the repository, as a person would make it -----------------------------------------
if [ "$rev" = "$(git rev-parse HEAD)" ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "fresh: note: uncommitted changes are not tested; the clone is of $rev" >&2
fi
git clone -q --no-hardlinks "$repo" "$root/root/dynaseal"
git -C "$root/root/dynaseal" -c advice.detachedHead=false checkout -q "$rev"
if [ "${FRESH_SHARED:-0}" = 1 ]; then
	[ -d "$repo/../shared" ] || fail "FRESH_SHARED=1: there is no ../shared beside $repo"
	cp -r "$repo/../shared" "$root/root/shared"
fi

# --- the command, in a chroot inside new mount and pid namespaces ----------------------------------
# pid 1 of the namespace mounts what a system has, runs the command, then lists what is still
# running (ps reads the namespace's own /proc); when it exits, the kernel ends the rest.
inner='
root=$1 cmd=$2; shift 2
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
chroot "$root" /usr/bin/env -i "$@" /bin/bash -c "cd /root/dynaseal && $cmd" </dev/null
rc=$?
sleep 1
ps -e -o pid=,stat=,args= >"$root/tmp/.fresh-ps"
left=$(awk '"'"'$1 != 1 && $2 !~ /^Z/ && $3 != "ps"'"'"' "$root/tmp/.fresh-ps")
if [ -n "$left" ]; then
	echo "fresh: left running after the command:"
	echo "$left"
	[ "$rc" = 0 ] && rc=3
fi
exit "$rc"
'
stamp() {
	local line
	while IFS= read -r line; do printf '%4d %s\n' $((SECONDS - t0)) "$line"; done
}
echo "fresh: running \`$cmd\` in $root (Debian $suite, commit ${rev:0:12})"
fifo=$work/out
mkfifo "$fifo"
t0=$SECONDS
stamp <"$fifo" | tee "$log" &
reader=$!
timeout "$timeout_s" unshare --mount --pid --fork --kill-child --mount-proc \
	bash -c "$inner" fresh "$root" "$cmd" "${envs[@]}" >"$fifo" 2>&1 </dev/null &
runner=$!
set +e
wait "$runner"
rc=$?
set -e
runner=""
wait "$reader"
reader=""
t_cmd=$((SECONDS - t0))
[ "$rc" = 124 ] && echo "fresh: stopped after ${timeout_s} s (FRESH_TIMEOUT)" >&2

# --- verdict and timings ------------------------------------------------------------------------
# The phases are read off the log: install-deps says when it is ready, make echoes the demo.
at() { awk -v re="$1" '{ s = $1; sub(/^ *[0-9]+ /, "") } $0 ~ re { print s; exit }' "$log"; }
t_ready=$(at '^install-deps: ready for ')
t_demo=$(at '^deploy/demo\.sh$')
times="base system ${t_base} s ($base_how)"
if [ -n "$t_ready" ] && [ -n "$t_demo" ]; then
	times+=", install ${t_ready} s, build $((t_demo - t_ready)) s, demo $((t_cmd - t_demo)) s"
else
	times+=", \`$cmd\` ${t_cmd} s"
fi
times+=", in all $((SECONDS - t_all)) s"

if [ "$rc" != 0 ]; then
	echo "fresh: FAILED: \`$cmd\` exited $rc on a bare Debian $suite; see $log" >&2
	echo "fresh: $times" >&2
	exit 1
fi
if [ -z "${FRESH_COMMAND:-}" ] && ! grep -q ' demo: OK' "$log"; then
	echo "fresh: FAILED: \`$cmd\` exited 0 but the demo did not print \"demo: OK\"; see $log" >&2
	exit 1
fi
echo "fresh: OK: \`$cmd\` works as the first command on a bare Debian $suite"
echo "fresh: $times"
