/*
 * Where each DynamoDB operation names the tables it acts on (API reference, 2012-08-10): a
 * table name or table ARN in TableName, RequestItems keys, TransactItems[i].<action>.TableName,
 * ResourceArn, BackupArn and the other ARN members.  Client authorization asks this module
 * which tables a request names; an operation it does not list, or a request it cannot read
 * with certainty, names no table it can vouch for and is reported as such, never as "none".
 */
#ifndef DS_DDB_TABLES_H
#define DS_DDB_TABLES_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* What ddb_request_tables found. */
enum ddb_tables_result {
	DDB_TABLES_OK = 0,            /* every table the request names was given to the callback */
	DDB_TABLES_UNKNOWN_OP = -1,   /* an operation this module does not know the tables of */
	DDB_TABLES_UNREADABLE = -2,   /* a member that names tables is missing or of another shape */
	DDB_TABLES_STOPPED = -3,      /* the callback returned non-zero */
};

/*
 * Called once per table named, with the table's name (an ARN already reduced to the name
 * after "table/"; a name DynamoDB would refuse is passed as it is) and the member it was
 * found in (e.g. "RequestItems", "TransactItems[2].Put.TableName").  Non-zero stops the walk.
 */
typedef int (*ddb_table_cb)(void *arg, const char *table, const char *member);

/*
 * Gives every table that the request doc (a parsed JSON object) of operation op names to cb.
 * Operations that act on no table (ListTables, DescribeLimits, DescribeEndpoints) return
 * DDB_TABLES_OK without a call.  On DDB_TABLES_UNREADABLE, why (why_cap bytes, may be NULL)
 * says which member could not be read and how, in a phrase that fits after "because ".
 */
enum ddb_tables_result ddb_request_tables(const char *op, const cJSON *doc, ddb_table_cb cb,
					  void *arg, char *why, size_t why_cap);

/*
 * The table a table name or ARN means: for "arn:<partition>:dynamodb:<region>:<account>:
 * table/<name>[/<sub-resource>...]" the <name>, for anything not starting with "arn:" the
 * value itself.  Copies it into out (cap bytes) and returns 0, or -1 for an ARN of another
 * shape or a name that does not fit.
 */
int ddb_table_of(const char *value, char *out, size_t cap);

#endif
