-- wrk script: one DynamoDB JSON-protocol call repeated on keep-alive connections.
-- Environment: BENCH_TARGET (GetItem, PutItem, Query, BatchGetItem), BENCH_BODY (a file
-- holding the request body), BENCH_DELAY_MS (optional: mean pause per connection between
-- requests, for the fixed-rate rows; wrk's delay() takes whole milliseconds, so the fraction
-- is dithered).
-- done() prints one "RESULT key=value ..." line that run.sh reads.

local target = os.getenv("BENCH_TARGET") or "GetItem"
local body_file = assert(os.getenv("BENCH_BODY"), "BENCH_BODY is not set")
local f = assert(io.open(body_file, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "DynamoDB_20120810." .. target
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
-- Syntactically valid SigV4; dynaseal re-signs with its own credentials (no "clients" set).
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCHCLIENT/20260101/" ..
	"us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;" ..
	"x-amz-target, Signature=" .. string.rep("0", 64)

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
if delay_ms > 0 then
	function delay()
		local whole = math.floor(delay_ms)
		if math.random() < delay_ms - whole then
			whole = whole + 1
		end
		return whole
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"RESULT requests=%d duration_us=%d req_s=%.1f p50_us=%d p99_us=%d max_us=%d " ..
		"bytes=%d connect_err=%d read_err=%d write_err=%d timeout_err=%d status_err=%d\n",
		summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(99), latency.max, summary.bytes,
		e.connect, e.read, e.write, e.timeout, e.status))
end
