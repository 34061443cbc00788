#!/usr/bin/env bash
# The local demo: DynamoDB (dynalite) on loopback, dynaseal in front of it with a fresh
# raw-aes key, and the unmodified AWS CLI writing and reading an item through dynaseal.
# Shows the item as the application sees it and as DynamoDB stores it.  Leaves nothing
# running.  With --foreground, keeps dynalite and dynaseal up for your own application
# until Ctrl-C (make run).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
foreground=0
[ "${1:-}" = "--foreground" ] && foreground=1

work=$(mktemp -d "${TMPDIR:-/tmp}/dynaseal-demo.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
	for _ in $(seq 1 100); do
		if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "demo: nothing answered on port $1; see $2" >&2
	cat "$2" >&2 || true
	return 1
}

dynalite="$root/tests/node/node_modules/.bin/dynalite"
[ -x "$dynalite" ] || { echo "demo: dynalite is missing; run deploy/install-deps.sh" >&2; exit 1; }

ddb_port=$(free_port)
"$dynalite" --port "$ddb_port" >"$work/dynalite.log" 2>&1 &
pids+=($!)

# A fresh 256-bit key for the raw-aes keyring, readable by us only.
umask 077
head -c 32 /dev/urandom >"$work/local.key"

if [ "$foreground" = 1 ]; then
	proxy_port=8000
	admin_port=9901
else
	proxy_port=$(free_port)
	admin_port=$(free_port)
fi
cat >"$work/dynaseal.json" <<JSON
{
  "listen": "127.0.0.1:$proxy_port",
  "admin_listen": "127.0.0.1:$admin_port",
  "upstream": { "endpoint": "http://127.0.0.1:$ddb_port", "region": "us-east-1" },
  "keyrings": {
    "local": { "type": "raw-aes", "key_file": "local.key",
               "key_namespace": "dynaseal", "key_name": "demo" }
  },
  "tables": {
    "demo_users": {
      "keyring": "local",
      "partition_key": "pk",
      "attribute_actions": { "pk": "SIGN_ONLY", "name": "SIGN_ONLY",
                             "email": "ENCRYPT_AND_SIGN", "ssn": "ENCRYPT_AND_SIGN" },
      "allowed_unsigned_attributes": ["last_seen"]
    }
  },
  "log": { "level": "warn" }
}
JSON

wait_port "$ddb_port" "$work/dynalite.log"
# dynaseal's own credentials (dynalite does not check them).
AWS_ACCESS_KEY_ID=AKIDDYNASEALDEMO AWS_SECRET_ACCESS_KEY=demo-secret \
	"$root/bin/dynaseal" serve --config "$work/dynaseal.json" >"$work/dynaseal.log" 2>&1 &
pids+=($!)
wait_port "$proxy_port" "$work/dynaseal.log"

# The application's side: an unmodified AWS CLI whose only change is the endpoint.  The CLI is
# given it on the command line too: AWS_ENDPOINT_URL_DYNAMODB is read by AWS CLIs from 2.13 and
# 1.29 on, and Debian 12's awscli is 2.9.
export AWS_ACCESS_KEY_ID=AKIDAPPLICATION AWS_SECRET_ACCESS_KEY=app-secret
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_PAGER=""
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$proxy_port"
app_aws() { aws --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" "$@"; }

if [ "$foreground" = 1 ]; then
	echo "dynaseal is listening on http://127.0.0.1:$proxy_port in front of a local DynamoDB"
	echo "(dynalite on port $ddb_port).  Table \"demo_users\" is configured: email and ssn are"
	echo "encrypted.  Point your application at it with:"
	echo "  export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$proxy_port"
	echo "Ctrl-C stops both.  dynaseal's log: $work/dynaseal.log"
	wait "${pids[1]}"
	exit 0
fi

echo "== the application creates a table and writes an item through dynaseal"
app_aws dynamodb create-table --table-name demo_users \
	--attribute-definitions AttributeName=pk,AttributeType=S \
	--key-schema AttributeName=pk,KeyType=HASH --billing-mode PAY_PER_REQUEST >/dev/null
app_aws dynamodb wait table-exists --table-name demo_users
item='{"pk":{"S":"user#1"},"name":{"S":"Ada Lovelace"},"email":{"S":"ada@example.com"},"ssn":{"S":"078-05-1120"},"last_seen":{"N":"1700000000"}}'
echo "$item" | python3 -m json.tool
app_aws dynamodb put-item --table-name demo_users --item "$item"

echo
echo "== the application reads it back through dynaseal"
seen=$(app_aws dynamodb get-item --table-name demo_users --key '{"pk":{"S":"user#1"}}' --output json)
echo "$seen"

echo
echo "== what DynamoDB stores (read directly, without dynaseal)"
stored=$(AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port" \
	app_aws dynamodb get-item --table-name demo_users --key '{"pk":{"S":"user#1"}}' --output json)
echo "$stored"

# The demo checks its own claims: the read equals the write, the store has no plaintext.
python3 - "$item" "$seen" "$stored" <<'PY'
import json, sys
written = json.loads(sys.argv[1])
seen = json.loads(sys.argv[2])["Item"]
stored = json.loads(sys.argv[3])["Item"]
assert seen == written, "the item read through dynaseal differs from the one written"
raw = json.dumps(stored)
for secret in ("ada@example.com", "078-05-1120"):
    assert secret not in raw, "plaintext found in the stored item"
for a in ("email", "ssn", "aws_dbe_head", "aws_dbe_foot"):
    assert "B" in stored[a], a + " is not stored as binary"
assert stored["name"] == written["name"], "SIGN_ONLY attributes stay readable"
print()
print("demo: OK — email and ssn are ciphertext at rest; the application saw plaintext.")
PY
