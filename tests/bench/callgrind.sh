#!/usr/bin/env bash
# Instructions dynaseal executes per request, counted by callgrind (tests/bench/README.md,
# "Instruction counts"): dynaseal with one worker under valgrind in front of dynalite, a client
# making N requests over 4 keep-alive connections, and per request
# (total at N=600 - total at N=100) / 500, which cancels start-up.  Counts do not depend on
# the machine's load, so this is the repeatable check that a change made a request cheaper or
# dearer.  Rows: a pass-through GetItem, a GetItem of a 1 KiB encrypted item, a PutItem of one,
# an UpdateItem of an unsigned (DO_NOTHING) attribute of that item (forwarded, conditioned on
# the item existing).
# Writes build/callgrind/; about 3 minutes.  Run through `make callgrind`.
set -euo pipefail

cd "$(dirname "$0")/../.."
# DYNASEAL_BIN measures another build (an older commit's, to compare).
dynaseal=$(realpath "${DYNASEAL_BIN:-bin/dynaseal}")
out=$PWD/build/callgrind
rm -rf "$out"
mkdir -p "$out"
pids=()
cleanup() {
	local p
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
	for _ in $(seq 1 600); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "callgrind: nothing listens on port $1" >&2
	exit 1
}

export AWS_ACCESS_KEY_ID=AKIDDYNASEALCG AWS_SECRET_ACCESS_KEY=callgrind-secret AWS_REGION=us-east-1
head -c 32 /dev/urandom >"$out/cg.key"
ddb_port=$(free_port)
tests/node/node_modules/.bin/dynalite --port "$ddb_port" >"$out/dynalite.log" 2>&1 &
pids+=($!)
wait_port "$ddb_port"
port=$(free_port)
cat >"$out/config.json" <<JSON
{
  "listen": "127.0.0.1:$port",
  "admin_listen": "127.0.0.1:$(free_port)",
  "upstream": { "endpoint": "http://127.0.0.1:$ddb_port", "region": "us-east-1" },
  "keyrings": { "local": { "type": "raw-aes", "key_file": "cg.key",
                           "key_namespace": "dynaseal", "key_name": "callgrind" } },
  "tables": { "bench": { "keyring": "local", "partition_key": "pk",
      "attribute_actions": { "pk": "SIGN_ONLY", "e0": "ENCRYPT_AND_SIGN", "e1": "ENCRYPT_AND_SIGN",
                             "s0": "SIGN_ONLY", "s1": "SIGN_ONLY", "free": "DO_NOTHING" } } },
  "log": { "level": "warn" }
}
JSON

# One run: dynaseal under callgrind, N requests of KIND, its total instruction count.
client=$out/client.py
cat >"$client" <<'PY'
import http.client, json, sys
port, kind, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
item = {"pk": {"S": "k"}, "e0": {"S": "e" * 300}, "e1": {"S": "f" * 200},
        "s0": {"S": "s" * 300}, "s1": {"N": "12345"}, "free": {"S": "x" * 150}}
if kind == "setup":
    reqs = [("CreateTable", {"TableName": t, "BillingMode": "PAY_PER_REQUEST",
                             "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]})
            for t in ("bench", "plain")]
    reqs += [("DescribeTable", {"TableName": t}) for t in ("bench", "plain") for _ in range(50)]
    reqs += [("PutItem", {"TableName": t, "Item": item}) for t in ("bench", "plain")]
elif kind == "get_plain":
    reqs = [("GetItem", {"TableName": "plain", "Key": {"pk": {"S": "k"}}})] * n
elif kind == "get_enc":
    reqs = [("GetItem", {"TableName": "bench", "Key": {"pk": {"S": "k"}}})] * n
elif kind == "update_free":
    reqs = [("UpdateItem", {"TableName": "bench", "Key": {"pk": {"S": "k"}},
                            "UpdateExpression": "SET #f = :v", "ExpressionAttributeNames": {"#f": "free"},
                            "ExpressionAttributeValues": {":v": {"S": "x" * 150}}})] * n
else:
    reqs = [("PutItem", {"TableName": "bench", "Item": item})] * n
conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=120) for _ in range(4)]
headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Date": "20260101T000000Z",
           "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDAPP/20260101/us-east-1/dynamodb/"
                            "aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64}
import time
for i, (op, body) in enumerate(reqs):
    c = conns[i % 4]
    if op == "DescribeTable":   # set-up: wait until the tables are ACTIVE
        c.request("POST", "/", json.dumps(body), dict(headers, **{"X-Amz-Target": "DynamoDB_20120810." + op}))
        if json.loads(c.getresponse().read())["Table"]["TableStatus"] != "ACTIVE":
            time.sleep(0.1)
        continue
    c.request("POST", "/", json.dumps(body), dict(headers, **{"X-Amz-Target": "DynamoDB_20120810." + op}))
    r = c.getresponse()
    data = r.read()
    if r.status != 200 and not (kind == "setup" and b"ResourceInUse" in data):
        sys.exit("%s %d: %s" % (op, r.status, data[:300]))
PY
"$dynaseal" serve --config "$out/config.json" --workers 1 >"$out/setup.log" 2>&1 &
setup_pid=$!
pids+=("$setup_pid")
wait_port "$port"
python3 "$client" "$port" setup 0
kill "$setup_pid"
wait "$setup_pid" 2>/dev/null || true

total() {
	local kind=$1 n=$2 f=$out/callgrind.$1.$2.out pid
	(cd "$out" && valgrind --tool=callgrind --callgrind-out-file="$f" \
		"$dynaseal" serve --config config.json --workers 1 \
		>"$out/$kind.$n.log" 2>&1) &
	pid=$!
	wait_port "$port"
	python3 "$client" "$port" "$kind" "$n" || { kill "$pid"; exit 1; }
	pkill -TERM -f "callgrind-out-file=$f" || true
	wait "$pid" 2>/dev/null || true
	awk '/^(summary|totals):/ { print $2; exit }' "$f"
}

printf '%-28s %14s %14s %16s\n' row "Ir at N=100" "Ir at N=600" "Ir per request"
for kind in get_plain get_enc put_enc update_free; do
	a=$(total "$kind" 100)
	b=$(total "$kind" 600)
	printf '%-28s %14s %14s %16s\n' "$kind" "$a" "$b" "$(( (b - a) / 500 ))"
done | tee "$out/summary.txt"
