#include "proxy/base/metrics.h"

#include <string.h>

#include <event2/buffer.h>

static const char *const op_labels[METRICS_OPS] = {
	"other", "PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan",
	"BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems",
	"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction", "CreateTable",
	"DeleteTable", "DescribeTable", "UpdateTable", "ListTables", "DescribeTimeToLive",
	"UpdateTimeToLive", "DescribeEndpoints", "TagResource", "ListTagsOfResource",
};

/* The operations dynaseal may carry out itself (route_rmw.c, route_tx.c). */
static const char *const rmw_ops[] = { "UpdateItem", "PutItem", "DeleteItem", "TransactWriteItems" };

static const double bucket_ms[METRICS_BUCKETS - 1] = { 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000 };

static size_t op_index(const char *op)
{
	for (size_t i = 1; i < METRICS_OPS; i++) {
		if (strcmp(op, op_labels[i]) == 0)
			return i;
	}
	return 0;
}

void metrics_rmw(struct metrics *m, const char *op)
{
	metrics_inc(&m->rmw[op_index(op)], 1);
}

double metrics_elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

void metrics_request(struct metrics *m, const char *op, int status, double latency_ms,
		     size_t bytes_in, size_t bytes_out)
{
	size_t cls = status >= 500 ? 2 : status >= 400 ? 1 : 0;
	size_t b = 0;

	metrics_inc(&m->requests[op_index(op)][cls], 1);
	while (b < METRICS_BUCKETS - 1 && latency_ms > bucket_ms[b])
		b++;
	metrics_inc(&m->latency[b], 1);
	metrics_inc(&m->latency_sum_us, (uint64_t)(latency_ms * 1000.0));
	metrics_inc(&m->bytes_in, bytes_in);
	metrics_inc(&m->bytes_out, bytes_out);
}

static uint64_t load(const metrics_counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Sums one counter, found at the same offset in every worker's struct. */
static uint64_t sum_at(struct metrics *const *each, size_t n, size_t offset)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += load((const metrics_counter *)((const char *)each[i] + offset));
	return s;
}

static void counter(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
			    name, (unsigned long long)v);
}

void metrics_render(struct evbuffer *out, struct metrics *const *each, size_t n)
{
	static const char *const classes[3] = { "2xx", "4xx", "5xx" };
	uint64_t cumulative = 0;
	int conns = 0;

	evbuffer_add_printf(out, "# HELP dynaseal_requests_total Requests answered, by DynamoDB "
			    "operation and status class.\n# TYPE dynaseal_requests_total counter\n");
	for (size_t op = 0; op < METRICS_OPS; op++) {
		for (size_t c = 0; c < 3; c++) {
			uint64_t v = sum_at(each, n, offsetof(struct metrics, requests[0][0]) +
						       (op * 3 + c) * sizeof(metrics_counter));
			if (v > 0 || (op == 0 && c == 0))
				evbuffer_add_printf(out, "dynaseal_requests_total{operation=\"%s\",status=\"%s\"} %llu\n",
						    op_labels[op], classes[c], (unsigned long long)v);
		}
	}
	evbuffer_add_printf(out, "# HELP dynaseal_request_duration_seconds Time from a complete "
			    "request to its answer.\n# TYPE dynaseal_request_duration_seconds histogram\n");
	for (size_t b = 0; b < METRICS_BUCKETS; b++) {
		cumulative += sum_at(each, n, offsetof(struct metrics, latency[0]) + b * sizeof(metrics_counter));
		if (b < METRICS_BUCKETS - 1)
			evbuffer_add_printf(out, "dynaseal_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
					    bucket_ms[b] / 1000.0, (unsigned long long)cumulative);
		else
			evbuffer_add_printf(out, "dynaseal_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
					    (unsigned long long)cumulative);
	}
	evbuffer_add_printf(out, "dynaseal_request_duration_seconds_sum %.6f\n"
			    "dynaseal_request_duration_seconds_count %llu\n",
			    (double)sum_at(each, n, offsetof(struct metrics, latency_sum_us)) / 1e6,
			    (unsigned long long)cumulative);
	counter(out, "dynaseal_request_bytes_total", "Request body bytes received.",
		sum_at(each, n, offsetof(struct metrics, bytes_in)));
	counter(out, "dynaseal_response_bytes_total", "Response body bytes sent.",
		sum_at(each, n, offsetof(struct metrics, bytes_out)));
	counter(out, "dynaseal_errors_total", "Errors dynaseal answered itself.",
		sum_at(each, n, offsetof(struct metrics, errors_own)));
	counter(out, "dynaseal_upstream_errors_total", "Upstream calls that failed (unreachable, timed out, broken).",
		sum_at(each, n, offsetof(struct metrics, upstream_errors)));
	counter(out, "dynaseal_upstream_connections_opened_total", "Connections opened to the "
		"DynamoDB endpoint (the rest of the calls reuse a pooled connection).",
		sum_at(each, n, offsetof(struct metrics, upstream_opened)));
	counter(out, "dynaseal_refused_total", "Requests refused because they could not be rewritten safely.",
		sum_at(each, n, offsetof(struct metrics, refused)));
	counter(out, "dynaseal_items_encrypted_total", "Items encrypted and signed.",
		sum_at(each, n, offsetof(struct metrics, items_encrypted)));
	counter(out, "dynaseal_items_decrypted_total", "Items verified and decrypted.",
		sum_at(each, n, offsetof(struct metrics, items_decrypted)));
	counter(out, "dynaseal_item_failures_total", "Items that failed verification or decryption.",
		sum_at(each, n, offsetof(struct metrics, item_failures)));
	evbuffer_add_printf(out, "# HELP dynaseal_rmw_total Writes on protected attributes that dynaseal "
			    "carried out itself (read, verify, evaluate, encrypt, write back), by "
			    "operation.\n# TYPE dynaseal_rmw_total counter\n");
	for (size_t i = 0; i < sizeof(rmw_ops) / sizeof(rmw_ops[0]); i++) {
		size_t op = op_index(rmw_ops[i]);
		evbuffer_add_printf(out, "dynaseal_rmw_total{operation=\"%s\"} %llu\n", rmw_ops[i],
				    (unsigned long long)sum_at(each, n, offsetof(struct metrics, rmw) +
							       op * sizeof(metrics_counter)));
	}
	counter(out, "dynaseal_rmw_conflicts_total", "Write-backs of those writes that found an "
		"item changed by another writer, and started over.",
		sum_at(each, n, offsetof(struct metrics, rmw_conflicts)));
	counter(out, "dynaseal_index_item_reads_total", "Items read from a table (BatchGetItem) for "
		"the entries of a Query or Scan of an index that does not project them whole.",
		sum_at(each, n, offsetof(struct metrics, index_item_reads)));
	for (size_t i = 0; i < n; i++)
		conns += atomic_load_explicit(&each[i]->connections, memory_order_relaxed);
	evbuffer_add_printf(out, "# HELP dynaseal_connections Client connections open now.\n"
			    "# TYPE dynaseal_connections gauge\ndynaseal_connections %d\n", conns);
}
