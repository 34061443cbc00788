/*
 * CreateTable, UpdateTable and DescribeTable of a configured table: indexes keyed by beaconed
 * attributes made on their beacons and described with their names (route_table.c).
 */
#ifndef DS_ROUTE_TABLE_H
#define DS_ROUTE_TABLE_H

#include <cjson/cJSON.h>

struct route_state;

/* Sends req (st->table's CreateTable, UpdateTable or DescribeTable) rewritten; the answer is
 * rewritten back.  0, or -1 with st->err set (a refused index, out of memory, no upstream). */
int route_table_request(struct route_state *st, cJSON *req) __attribute__((warn_unused_result));

#endif
