#!/usr/bin/env bash
# dynaseal's throughput and latency beside nginx and HAProxy on the same requests, plus a
# micro-benchmark of one item's encrypt/decrypt (tests/bench/README.md).  Loopback only,
# bounded (BENCH_SECONDS per row, default 10; about 4 minutes in all), leaves nothing running,
# writes everything under build/bench/.  Run through `make bench`, which builds bin/dynaseal.
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/bench
secs=${BENCH_SECONDS:-10}
wrk_threads=2
base_conns=64

rm -rf "$out"
mkdir -p "$out/work" "$out/rows" "$out/logs"
exec > >(tee "$out/run.log") 2>&1

# Every process this script started and has not yet stopped; cleanup ends exactly those.
pids=()
cleanup() {
	local p
	for p in "${pids[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	pids=()
}
# stop PID...: ends processes started here and forgets them (so a reused id is never hit).
stop() {
	local p keep=() q
	for p in "$@"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for q in "${pids[@]:-}"; do
		for p in "$@"; do [ "$q" = "$p" ] && continue 2; done
		[ -n "$q" ] && keep+=("$q")
	done
	pids=("${keep[@]:-}")
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1,024 client connections plus as many upstream ones need more than the usual 1,024 fds.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "bench: $(nproc) cores, ulimit -n $(ulimit -n), ${secs}s per row, wrk -t$wrk_threads"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
	for _ in $(seq 1 150); do
		if python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "bench: nothing answered on port $1; see $2" >&2
	tail -20 "$2" >&2 || true
	exit 1
}
# VmRSS in KiB of a process and its children (nginx's workers), -1 when gone.
rss_kib() {
	local total=0 p v
	for p in "$@" $(pgrep -P "$1" 2>/dev/null || true); do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
		[ -n "$v" ] && total=$((total + v))
	done
	[ "$total" -gt 0 ] && echo "$total" || echo -1
}

# --- build -----------------------------------------------------------------------------------
[ -x bin/dynaseal ] || { echo "bench: bin/dynaseal is missing: run make first" >&2; exit 1; }
pkgs="libevent libevent_openssl libevent_pthreads openssl libcjson hiredis zlib gmp"
objs=$(find build/rel/proxy build/rel/crypto build/rel/config build/rel/cache -name '*.o' \
	2>/dev/null | grep -v '^build/rel/proxy/cmd/main\.o$' | sort)
# shellcheck disable=SC2086
cc -O2 -g -std=c11 -D_GNU_SOURCE -I. -I/usr/share/include/llhttp -Wall -Wextra -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Werror $(pkg-config --cflags $pkgs) \
	-o "$out/item_bench" tests/bench/item_bench.c $objs build/rel/llhttp/*.o \
	$(pkg-config --libs $pkgs) -lpthread -lm

# --- canned data, made by dynaseal in front of a real dynalite ------------------------------
work=$out/work
umask 077
head -c 32 /dev/urandom >"$work/bench.key"
umask 022
table_json='"bench": { "keyring": "local", "partition_key": "pk", "sort_key": "sk",
      "attribute_actions": { "pk": "SIGN_ONLY", "sk": "SIGN_ONLY",
        "e0": "ENCRYPT_AND_SIGN", "e1": "ENCRYPT_AND_SIGN", "e2": "ENCRYPT_AND_SIGN",
        "s0": "SIGN_ONLY", "s1": "SIGN_ONLY", "s2": "SIGN_ONLY", "s3": "SIGN_ONLY",
        "s4": "SIGN_ONLY", "s5": "SIGN_ONLY", "s6": "SIGN_ONLY", "s7": "SIGN_ONLY",
        "s8": "SIGN_ONLY", "s9": "SIGN_ONLY" } }'
# dynaseal_config FILE LISTEN_PORT ADMIN_PORT UPSTREAM_PORT
dynaseal_config() {
	cat >"$1" <<JSON
{
  "listen": "127.0.0.1:$2",
  "admin_listen": "127.0.0.1:$3",
  "upstream": { "endpoint": "http://127.0.0.1:$4", "region": "us-east-1" },
  "keyrings": { "local": { "type": "raw-aes", "key_file": "bench.key",
                           "key_namespace": "dynaseal", "key_name": "bench" } },
  "tables": { $table_json },
  "log": { "level": "warn" }
}
JSON
}
export AWS_ACCESS_KEY_ID=AKIDDYNASEALBENCH AWS_SECRET_ACCESS_KEY=bench-secret

ddb_port=$(free_port)
tests/node/node_modules/.bin/dynalite --port "$ddb_port" >"$out/logs/dynalite.log" 2>&1 &
ddb_pid=$!
pids+=("$ddb_pid")
seed_port=$(free_port)
dynaseal_config "$work/seed.json" "$seed_port" "$(free_port)" "$ddb_port"
wait_port "$ddb_port" "$out/logs/dynalite.log"
bin/dynaseal serve --config "$work/seed.json" --workers 2 >"$out/logs/dynaseal-seed.log" 2>&1 &
seed_pid=$!
pids+=("$seed_pid")
wait_port "$seed_port" "$out/logs/dynaseal-seed.log"
python3 tests/bench/prepare.py "$work" "$seed_port" "$ddb_port"
stop "$seed_pid" "$ddb_pid"
cat "$work/sizes.txt"
# shellcheck disable=SC1091
. "$work/crc.env"

# --- item micro-benchmark -------------------------------------------------------------------
echo "== item micro-benchmark"
for size in 1k 64k 350k; do
	iters=2000
	[ "$size" = 64k ] && iters=100
	[ "$size" = 350k ] && iters=20
	echo "-- $size item"
	"$out/item_bench" "$work/seed.json" bench "$work/items/$size.json" "$iters" \
		| tee "$out/item_bench_$size.txt"
done

# --- upstream stub, nginx, HAProxy ----------------------------------------------------------
stub1=$(free_port); stub64=$(free_port); stub350=$(free_port)
mkdir -p "$work/stub"
cat >"$work/stub/nginx.conf" <<CONF
# The fast upstream: canned DynamoDB answers chosen by port and X-Amz-Target, each with its
# x-amz-crc32.  The bodies are too long for "return 200 '...'" (nginx caps a directive's
# parameter at 4 KiB), so they are files: a POST to a static file is refused with 405 by
# nginx, and error_page 405 =200 turns that into the file's contents with status 200.
daemon off;
worker_processes 2;
worker_rlimit_nofile 16384;
pid $work/stub/nginx.pid;
error_log $out/logs/stub-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  etag off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path $work/stub/body;
  proxy_temp_path $work/stub/proxy;
  fastcgi_temp_path $work/stub/fastcgi;
  uwsgi_temp_path $work/stub/uwsgi;
  scgi_temp_path $work/stub/scgi;
  client_max_body_size 16m;
  client_body_buffer_size 1m;
  map "\$server_port:\$http_x_amz_target" \$answer {
    default empty;
    "$stub1:DynamoDB_20120810.GetItem" get_1k;
    "$stub1:DynamoDB_20120810.PutItem" put;
    "$stub1:DynamoDB_20120810.Query" query;
    "$stub1:DynamoDB_20120810.BatchGetItem" batchget;
    "$stub64:DynamoDB_20120810.GetItem" get_64k;
    "$stub350:DynamoDB_20120810.GetItem" get_350k;
  }
  map \$answer \$answer_crc {
    default $crc_empty;
    get_1k $crc_get_1k; put $crc_put; query $crc_query; batchget $crc_batchget;
    get_64k $crc_get_64k; get_350k $crc_get_350k;
  }
  server {
    listen 127.0.0.1:$stub1;
    listen 127.0.0.1:$stub64;
    listen 127.0.0.1:$stub350;
    location = / { error_page 405 =200 /answers/\$answer.json; return 405; }
    location /answers/ {
      internal;
      alias $work/bodies/;
      default_type application/x-amz-json-1.0;
      add_header x-amz-crc32 \$answer_crc always;
      add_header x-amzn-RequestId BENCHSTUB0000000000000000000000000000000000000000000 always;
    }
  }
}
CONF
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
# nginx as a plain keep-alive reverse proxy to the stub: the throughput reference.
daemon off;
worker_processes 2;
worker_rlimit_nofile 16384;
pid $work/nginx/nginx.pid;
error_log $out/logs/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  client_max_body_size 16m;
  client_body_buffer_size 1m;
  upstream stub { server 127.0.0.1:$stub1; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
CONF
haproxy_port=$(free_port)
cat >"$work/haproxy.cfg" <<CONF
# HAProxy in http mode, keep-alive on both sides: the second reference.
global
  nbthread 2
  maxconn 8000
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bench
  bind 127.0.0.1:$haproxy_port
  default_backend stub
backend stub
  server stub1 127.0.0.1:$stub1 maxconn 4000
CONF

nginx -p "$work/stub" -c "$work/stub/nginx.conf" >"$out/logs/stub.log" 2>&1 &
stub_pid=$!
pids+=("$stub_pid")
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$out/logs/nginx.log" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")
haproxy -db -f "$work/haproxy.cfg" >"$out/logs/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")

# The measuring dynaseals: same key and table, the stub as upstream, 2 workers, log warn.
ds_port=$(free_port); ds_admin=$(free_port)
dynaseal_config "$work/ds.json" "$ds_port" "$ds_admin" "$stub1"
bin/dynaseal serve --config "$work/ds.json" --workers 2 >"$out/logs/dynaseal.log" 2>&1 &
ds_pid=$!
pids+=("$ds_pid")
ds64_port=$(free_port)
dynaseal_config "$work/ds64.json" "$ds64_port" "$(free_port)" "$stub64"
bin/dynaseal serve --config "$work/ds64.json" --workers 2 >"$out/logs/dynaseal-64k.log" 2>&1 &
ds64_pid=$!
pids+=("$ds64_pid")
ds350_port=$(free_port)
dynaseal_config "$work/ds350.json" "$ds350_port" "$(free_port)" "$stub350"
bin/dynaseal serve --config "$work/ds350.json" --workers 2 >"$out/logs/dynaseal-350k.log" 2>&1 &
ds350_pid=$!
pids+=("$ds350_pid")
for p in "$stub1:stub" "$nginx_port:nginx" "$haproxy_port:haproxy" "$ds_port:dynaseal" \
	"$ds64_port:dynaseal-64k" "$ds350_port:dynaseal-350k"; do
	wait_port "${p%%:*}" "$out/logs/${p#*:}.log"
done

# --- each path answers correctly once before it is measured ---------------------------------
# call PORT TARGET REQUEST_NAME -> response body on stdout; fails on a non-200 answer.
call() {
	curl -sS --fail-with-body -X POST "http://127.0.0.1:$1/" \
		-H "Content-Type: application/x-amz-json-1.0" -H "X-Amz-Target: DynamoDB_20120810.$2" \
		-H "X-Amz-Date: 20260101T000000Z" \
		-H "Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCHCLIENT/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=$(printf '0%.0s' $(seq 64))" \
		--data-binary "@$work/requests/$3.json"
}
check() {   # check PORT TARGET REQUEST WANT_PLAINTEXT(1/0) WHAT
	local body
	body=$(call "$1" "$2" "$3") || { echo "bench: $5 failed: $body" >&2; exit 1; }
	if [ "$4" = 1 ] && grep -q aws_dbe_head <<<"$body"; then
		echo "bench: $5 answered a still-encrypted item" >&2; exit 1
	fi
	if [ "$4" = 0 ] && [ "$2" = GetItem ] && ! grep -q aws_dbe_head <<<"$body"; then
		echo "bench: $5 should pass the stored item through untouched" >&2; exit 1
	fi
	echo "checked: $5 ($(wc -c <<<"$body") bytes)"
}
check "$stub1" GetItem get_plain 0 "stub GetItem"
check "$nginx_port" GetItem get_plain 0 "nginx GetItem"
check "$haproxy_port" GetItem get_plain 0 "HAProxy GetItem"
check "$ds_port" GetItem get_plain 0 "dynaseal pass-through GetItem"
check "$ds_port" GetItem get_1k 1 "dynaseal GetItem"
check "$ds_port" PutItem put 1 "dynaseal PutItem"
check "$ds_port" UpdateItem update 1 "dynaseal UpdateItem of an encrypted attribute"
check "$ds_port" Query query 1 "dynaseal Query"
check "$ds_port" BatchGetItem batchget 1 "dynaseal BatchGetItem"
check "$ds64_port" GetItem get_64k 1 "dynaseal GetItem 64 KiB"
check "$ds350_port" GetItem get_350k 1 "dynaseal GetItem 350 KiB"

# --- load -----------------------------------------------------------------------------------
: >"$out/results.tsv"
# row NAME PORT TARGET REQUEST CONNS RSS_PID [DELAY_MS]: one wrk run; RSS sampled mid-run.
row() {
	local name=$1 port=$2 target=$3 req=$4 conns=$5 rss_pid=$6 delay=${7:-0}
	local threads=$wrk_threads rss=-1 w line
	[ "$conns" -lt "$threads" ] && threads=$conns
	BENCH_TARGET=$target BENCH_BODY="$work/requests/$req.json" BENCH_DELAY_MS=$delay \
		wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 5s -s tests/bench/request.lua \
		"http://127.0.0.1:$port/" >"$out/rows/$name.txt" 2>&1 &
	w=$!
	pids+=("$w")
	sleep "$(awk -v s="$secs" 'BEGIN {print s / 2}')"
	[ "$rss_pid" != - ] && rss=$(rss_kib "$rss_pid")
	wait "$w" || { echo "bench: wrk failed for $name" >&2; cat "$out/rows/$name.txt" >&2; exit 1; }
	stop "$w"
	line=$(grep '^RESULT ' "$out/rows/$name.txt") ||
		{ echo "bench: no result for $name" >&2; cat "$out/rows/$name.txt" >&2; exit 1; }
	python3 - "$name" "$conns" "$rss" "$line" >>"$out/results.tsv" <<'EOF'
import sys
name, conns, rss, line = sys.argv[1:5]
r = dict(p.split("=", 1) for p in line.split()[1:])
errs = sum(int(r[k]) for k in ("connect_err", "read_err", "write_err", "timeout_err",
                               "status_err"))
print("\t".join([name, conns, r["req_s"], r["p50_us"], r["p99_us"], rss, str(errs)]))
EOF
	tail -1 "$out/results.tsv" | awk -F'\t' '{printf "%-20s c=%-5s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  rss %s KiB  errors %s\n", $1, $2, $3, $4/1000, $5/1000, $6, $7}'
}
# A short unrecorded run warms each server (page cache, pools, branch predictors).
warm() {
	BENCH_TARGET=$2 BENCH_BODY="$work/requests/$3.json" \
		wrk -t2 -c"$base_conns" -d2s -s tests/bench/request.lua "http://127.0.0.1:$1/" >/dev/null
}

echo "== load: ${secs}s per row"
warm "$stub1" GetItem get_plain
row stub_get "$stub1" GetItem get_plain "$base_conns" -
warm "$nginx_port" GetItem get_plain
row nginx_get "$nginx_port" GetItem get_plain "$base_conns" "$nginx_pid"
row nginx_put "$nginx_port" PutItem put "$base_conns" "$nginx_pid"
row nginx_update "$nginx_port" UpdateItem update "$base_conns" "$nginx_pid"
row nginx_query "$nginx_port" Query query "$base_conns" "$nginx_pid"
row nginx_batchget "$nginx_port" BatchGetItem batchget "$base_conns" "$nginx_pid"
warm "$haproxy_port" GetItem get_plain
row haproxy_get "$haproxy_port" GetItem get_plain "$base_conns" "$haproxy_pid"
warm "$ds_port" GetItem get_1k
row ds_passthrough_get "$ds_port" GetItem get_plain "$base_conns" "$ds_pid"
row ds_get "$ds_port" GetItem get_1k "$base_conns" "$ds_pid"
row ds_put "$ds_port" PutItem put "$base_conns" "$ds_pid"
row ds_update "$ds_port" UpdateItem update "$base_conns" "$ds_pid"
row ds_query "$ds_port" Query query "$base_conns" "$ds_pid"
row ds_batchget "$ds_port" BatchGetItem batchget "$base_conns" "$ds_pid"
row ds_get_64k "$ds64_port" GetItem get_64k "$base_conns" "$ds64_pid"
row ds_get_350k "$ds350_port" GetItem get_350k "$base_conns" "$ds350_pid"
row ds_get_c16 "$ds_port" GetItem get_1k 16 "$ds_pid"
row ds_get_c256 "$ds_port" GetItem get_1k 256 "$ds_pid"
row ds_get_c1024 "$ds_port" GetItem get_1k 1024 "$ds_pid"

# Latency at a fixed rate: half of dynaseal's GetItem peak, the same rate on every path.
peak=$(awk -F'\t' '$1 == "ds_get" {print $3}' "$out/results.tsv")
delay=$(awk -v c="$base_conns" -v p="$peak" 'BEGIN {printf "%.3f", 1000 * c / (p / 2)}')
echo "== fixed rate: $(awk -v p="$peak" 'BEGIN {printf "%.0f", p / 2}') req/s" \
	"($base_conns connections, ${delay} ms between requests on each)"
row rate_stub_get "$stub1" GetItem get_1k "$base_conns" - "$delay"
row rate_nginx_get "$nginx_port" GetItem get_1k "$base_conns" "$nginx_pid" "$delay"
row rate_ds_get "$ds_port" GetItem get_1k "$base_conns" "$ds_pid" "$delay"

echo "== 1024 idle keep-alive connections to dynaseal"
python3 tests/bench/idle_conns.py "$ds_port" 1024 "$ds_pid" GetItem "$work/requests/get_1k.json" \
	"$ds_admin" | tee "$out/idle.txt"

echo
echo "== results (raw output under build/bench/)"
python3 tests/bench/summarize.py "$out" | tee "$out/summary.txt"
cleanup
echo "bench: every process it started has stopped"
