/*
 * Counters for /metrics (Prometheus text format).  Each worker owns one struct metrics and is
 * its only writer (relaxed atomics); the admin thread sums them when scraped.  Operation
 * labels come from a fixed list so a client cannot grow the label set.
 */
#ifndef DS_METRICS_H
#define DS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct evbuffer;

/* Operations with their own label; everything else is "other". */
#define METRICS_OPS 24
/* Latency histogram upper bounds in milliseconds (+Inf is the last bucket). */
#define METRICS_BUCKETS 12

typedef atomic_uint_least64_t metrics_counter;

/* One worker's counters. */
struct metrics {
	metrics_counter requests[METRICS_OPS][3];   /* by operation and 2xx / 4xx / 5xx */
	metrics_counter latency[METRICS_BUCKETS];    /* requests at or under each bound */
	metrics_counter latency_sum_us;              /* total latency, microseconds */
	metrics_counter bytes_in;                    /* request bodies received */
	metrics_counter bytes_out;                   /* response bodies sent */
	metrics_counter errors_own;                  /* errors dynaseal answered itself */
	metrics_counter upstream_errors;             /* upstream unreachable, timed out, broken */
	metrics_counter upstream_opened;             /* connections opened to DynamoDB */
	metrics_counter refused;                     /* requests refused as unsafe to rewrite */
	metrics_counter items_encrypted;             /* items encrypted and signed */
	metrics_counter items_decrypted;             /* items verified and decrypted */
	metrics_counter item_failures;               /* items that failed verification */
	metrics_counter rmw[METRICS_OPS];            /* writes dynaseal carried out, by operation */
	metrics_counter rmw_conflicts;               /* their writes that found the item changed */
	metrics_counter index_item_reads;            /* items read from a table for the entries of
						      * an index that does not project them whole */
	atomic_int connections;                      /* client connections open now */
};

/* Records one answered request. */
/* Milliseconds since start (a CLOCK_MONOTONIC reading). */
double metrics_elapsed_ms(const struct timespec *start);
void metrics_request(struct metrics *m, const char *op, int status, double latency_ms,
		     size_t bytes_in, size_t bytes_out);
/* Counts a write dynaseal carried out itself (read, evaluate, write back) for operation op. */
void metrics_rmw(struct metrics *m, const char *op);
static inline void metrics_inc(metrics_counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Appends the Prometheus text of the sum of n workers' counters. */
void metrics_render(struct evbuffer *out, struct metrics *const *each, size_t n);

#endif
