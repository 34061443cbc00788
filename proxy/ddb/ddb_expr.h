/*
 * DynamoDB expressions, parsed far enough to know which attributes they touch: condition,
 * filter and key condition expressions, projection expressions and update expressions
 * (DynamoDB Developer Guide, "Using expressions in DynamoDB": "Condition and filter
 * expressions, operators, and functions", "Projection expressions", "Update expressions",
 * "Expression attribute names").  dynaseal refuses expressions that compare encrypted
 * attributes or write signed ones, and extends projections with what verification needs.
 *
 * Expressions come from the network: they are parsed with a bounded recursive-descent parser
 * (length at most DDB_EXPR_MAX, nesting at most DDB_EXPR_MAX_DEPTH) that rejects whatever it
 * does not fully understand, so that no attribute reference can slip past unreported.
 */
#ifndef DS_DDB_EXPR_H
#define DS_DDB_EXPR_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "proxy/base/arena.h"
#include "proxy/base/error.h"
#include "proxy/ddb/ddb_projection.h"

/* DynamoDB's limit on an expression, in bytes as sent (the caller holds an application's
 * expressions to it), and the parser's own, far above it for the expressions dynaseal writes
 * from legacy parameters (an IN of 27,500 values is some 300 KB).  Nothing the parser or the
 * evaluator does goes deeper or slower than linearly for a longer expression. */
#define DDB_EXPR_APP_MAX 4096
#define DDB_EXPR_MAX (4 << 20)
/* Deepest nesting of parentheses, NOT and function calls accepted. */
#define DDB_EXPR_MAX_DEPTH 64

/* Which grammar an expression follows. */
enum ddb_expr_kind {
	DDB_EXPR_CONDITION = 0,   /* ConditionExpression, FilterExpression, KeyConditionExpression */
	DDB_EXPR_PROJECTION,      /* ProjectionExpression: paths separated by commas */
	DDB_EXPR_UPDATE,          /* UpdateExpression: SET, REMOVE, ADD, DELETE clauses */
};

/* What a node of a parsed expression is.  Children (kids, linked by next) in textual order. */
enum ddb_node_kind {
	DDB_NODE_PATH = 1,  /* a document path; kids: its elements, the attribute's name first */
	DDB_NODE_NAME,      /* a path element naming an attribute or a map key: name/len */
	DDB_NODE_INDEX,     /* a path element indexing a list: index */
	DDB_NODE_VALUE,     /* a :placeholder of ExpressionAttributeValues: name/len, ':' included */
	DDB_NODE_CALL,      /* a function, op an enum ddb_func; kids: the arguments */
	DDB_NODE_CMP,       /* op an enum ddb_cmp; kids: the two operands */
	DDB_NODE_BETWEEN,   /* kids: the operand, the lower and the upper bound */
	DDB_NODE_IN,        /* kids: the operand, then each element of the list */
	DDB_NODE_AND,       /* kids: the conditions of a chain (a AND b AND c), two or more */
	DDB_NODE_OR,
	DDB_NODE_NOT,       /* kid: the condition */
	DDB_NODE_PLUS,      /* an update value: kids, the two operands */
	DDB_NODE_MINUS,
	DDB_NODE_ACTION,    /* an update action, op an enum ddb_clause; kids: the path, then the
			     * value (SET), the :value (ADD, DELETE) or nothing (REMOVE) */
	DDB_NODE_LIST,      /* the root of an update (its actions) or a projection (its paths) */
};

enum ddb_cmp { DDB_CMP_EQ, DDB_CMP_NE, DDB_CMP_LT, DDB_CMP_LE, DDB_CMP_GT, DDB_CMP_GE };

enum ddb_func {
	DDB_FN_ATTRIBUTE_EXISTS, DDB_FN_ATTRIBUTE_NOT_EXISTS, DDB_FN_ATTRIBUTE_TYPE,
	DDB_FN_BEGINS_WITH, DDB_FN_CONTAINS, DDB_FN_SIZE, DDB_FN_IF_NOT_EXISTS, DDB_FN_LIST_APPEND,
};

enum ddb_clause { DDB_CLAUSE_SET, DDB_CLAUSE_REMOVE, DDB_CLAUSE_ADD, DDB_CLAUSE_DELETE };

struct ddb_node {
	enum ddb_node_kind kind;
	int op;                     /* CALL, CMP, ACTION: see above */
	const char *name;           /* NAME: resolved through ExpressionAttributeNames (not NUL- */
	size_t len;                 /* terminated when it comes from the expression); VALUE */
	unsigned long index;        /* INDEX */
	size_t off;                 /* the expression's bytes [off, end) it was parsed from */
	size_t end;
	struct ddb_node *kids;      /* first child */
	struct ddb_node *tail;      /* last child */
	struct ddb_node *next;      /* next sibling */
};

/* A parsed expression.  Its nodes point into the expression's text and the names object,
 * which must outlive it. */
struct ddb_expr {
	enum ddb_expr_kind kind;
	struct ddb_node *root;      /* a condition, or a DDB_NODE_LIST */
	struct arena arena;         /* where the nodes live */
};

/*
 * Parses expr, the value of request parameter param (named in messages), with the grammar
 * kind, resolving #placeholders through names (may be NULL), into *out, which the caller
 * releases with ddb_expr_release() (also after a failure).  Returns 0, or -1 with err set
 * as ddb_expr_scan() describes (500 when out of memory).
 */
int ddb_expr_parse(enum ddb_expr_kind kind, const char *param, const char *expr,
		   const cJSON *names, struct ddb_expr *out, struct ds_error *err)
	__attribute__((warn_unused_result));
void ddb_expr_release(struct ddb_expr *e);

/*
 * Called once per document path an expression references, in textual order (a name used
 * twice is reported twice).  name/len is the path's top-level attribute name, resolved
 * through ExpressionAttributeNames (not NUL-terminated when it comes from the expression
 * itself).  written is 1 for the paths an update writes (left of '=' in SET, and the paths
 * of REMOVE, ADD and DELETE), 0 for every path only read.  nested is 1 when the path goes
 * below the top-level attribute ("a.b", "a[1]").  Returns 0 to go on, or non-zero to stop
 * the scan, having set err (the scan's own err, passed through).
 */
typedef int (*ddb_expr_name_cb)(void *arg, const char *name, size_t len, int written, int nested,
				struct ds_error *err);

/*
 * Parses expr, the value of the request parameter param (e.g. "ConditionExpression", used in
 * messages), with the grammar kind, and calls cb for each path (cb may be NULL: only
 * validates).  names is the request's ExpressionAttributeNames object, or NULL.
 * Returns 0, or -1 with err set to 400
 * DS_ERR_VALIDATION naming param and the problem: empty, longer than DDB_EXPR_MAX, syntax
 * error at an offset, nested too deep, unknown #placeholder, a keyword used as a bare name;
 * or -1 with cb's own error when cb refused.
 */
int ddb_expr_scan(enum ddb_expr_kind kind, const char *param, const char *expr, const cJSON *names,
		  ddb_expr_name_cb cb, void *arg, struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * Parses a ProjectionExpression (resolved through names, which may be NULL) into out, which
 * the caller releases with ddb_projection_cleanup() on success; on failure out is left empty.
 * Returns 0, or -1 with err set as ddb_expr_scan() does for "ProjectionExpression".  What is
 * done with it afterwards is ddb_projection.h's.
 */
int ddb_projection_parse(const char *expr, const cJSON *names, struct ddb_projection *out,
			 struct ds_error *err) __attribute__((warn_unused_result));

#endif
