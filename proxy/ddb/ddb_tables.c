/*
 * The table of where each DynamoDB operation names its tables.  Members that DynamoDB makes
 * optional but whose absence means "every table" (ListBackups without TableName lists the
 * backups of all tables) are required here: such a request names no table that can be checked.
 */
#include "proxy/ddb/ddb_tables.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* How a member names tables. */
enum member_kind {
	M_NAME,       /* a string: a table name or a table ARN (or a sub-resource ARN of one) */
	M_MAP,        /* an object whose keys are table names or ARNs (RequestItems) */
	M_TRANSACT,   /* a list of objects whose one member each is an object with TableName */
	M_CREATION,   /* an object with a TableName member (ImportTable's TableCreationParameters) */
};

/* One member of a request that names tables. */
struct member {
	const char *name;         /* the member's JSON key */
	enum member_kind kind;
	int required;             /* 1: a request without it is unreadable */
};

#define MEMBERS_MAX 3

/* One operation: the members that name its tables; none for operations that name no table. */
struct op_tables {
	const char *op;
	struct member members[MEMBERS_MAX];
};

#define BY_NAME { { "TableName", M_NAME, 1 } }
#define BY_ARN(m) { { m, M_NAME, 1 } }
#define NO_TABLE { { NULL, M_NAME, 0 } }

static const struct op_tables ops[] = {
	/* Items. */
	{ "GetItem", BY_NAME }, { "PutItem", BY_NAME }, { "UpdateItem", BY_NAME },
	{ "DeleteItem", BY_NAME }, { "Query", BY_NAME }, { "Scan", BY_NAME },
	{ "BatchGetItem", { { "RequestItems", M_MAP, 1 } } },
	{ "BatchWriteItem", { { "RequestItems", M_MAP, 1 } } },
	{ "TransactGetItems", { { "TransactItems", M_TRANSACT, 1 } } },
	{ "TransactWriteItems", { { "TransactItems", M_TRANSACT, 1 } } },
	/* Tables and their settings. */
	{ "CreateTable", BY_NAME }, { "DeleteTable", BY_NAME }, { "DescribeTable", BY_NAME },
	{ "UpdateTable", BY_NAME }, { "DescribeTimeToLive", BY_NAME }, { "UpdateTimeToLive", BY_NAME },
	{ "DescribeContinuousBackups", BY_NAME }, { "UpdateContinuousBackups", BY_NAME },
	{ "DescribeContributorInsights", BY_NAME }, { "UpdateContributorInsights", BY_NAME },
	{ "ListContributorInsights", BY_NAME },
	{ "DescribeKinesisStreamingDestination", BY_NAME },
	{ "EnableKinesisStreamingDestination", BY_NAME },
	{ "DisableKinesisStreamingDestination", BY_NAME },
	{ "UpdateKinesisStreamingDestination", BY_NAME },
	{ "DescribeTableReplicaAutoScaling", BY_NAME }, { "UpdateTableReplicaAutoScaling", BY_NAME },
	/* Backups, restores, exports and imports. */
	{ "CreateBackup", BY_NAME }, { "ListBackups", BY_NAME },
	{ "DescribeBackup", BY_ARN("BackupArn") }, { "DeleteBackup", BY_ARN("BackupArn") },
	{ "RestoreTableFromBackup", { { "TargetTableName", M_NAME, 1 }, { "BackupArn", M_NAME, 1 } } },
	{ "RestoreTableToPointInTime", { { "TargetTableName", M_NAME, 1 },
					 { "SourceTableName", M_NAME, 0 },
					 { "SourceTableArn", M_NAME, 0 } } },
	{ "ExportTableToPointInTime", BY_ARN("TableArn") }, { "ListExports", BY_ARN("TableArn") },
	{ "DescribeExport", BY_ARN("ExportArn") },
	{ "ImportTable", { { "TableCreationParameters", M_CREATION, 1 } } },
	{ "ListImports", BY_ARN("TableArn") }, { "DescribeImport", BY_ARN("ImportArn") },
	/* Global tables (version 2017.11.29): the global table has its tables' name. */
	{ "CreateGlobalTable", BY_ARN("GlobalTableName") },
	{ "DescribeGlobalTable", BY_ARN("GlobalTableName") },
	{ "UpdateGlobalTable", BY_ARN("GlobalTableName") },
	{ "DescribeGlobalTableSettings", BY_ARN("GlobalTableName") },
	{ "UpdateGlobalTableSettings", BY_ARN("GlobalTableName") },
	/* Tags and resource policies, on a table or one of its streams, backups, exports. */
	{ "TagResource", BY_ARN("ResourceArn") }, { "UntagResource", BY_ARN("ResourceArn") },
	{ "ListTagsOfResource", BY_ARN("ResourceArn") },
	{ "PutResourcePolicy", BY_ARN("ResourceArn") }, { "GetResourcePolicy", BY_ARN("ResourceArn") },
	{ "DeleteResourcePolicy", BY_ARN("ResourceArn") },
	/* Account-wide, acting on no table. */
	{ "ListTables", NO_TABLE }, { "DescribeLimits", NO_TABLE }, { "DescribeEndpoints", NO_TABLE },
};

/* The state of one walk. */
struct walk {
	ddb_table_cb cb;
	void *arg;
	char *why;                 /* the caller's buffer for the reason, or NULL */
	size_t why_cap;
	int named;                 /* tables given to cb so far */
};

static const struct op_tables *find_op(const char *op)
{
	for (size_t i = 0; op != NULL && i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].op, op) == 0)
			return &ops[i];
	}
	return NULL;
}

static enum ddb_tables_result unreadable(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum ddb_tables_result unreadable(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	if (w->why != NULL && w->why_cap > 0) {
		va_start(ap, fmt);
		vsnprintf(w->why, w->why_cap, fmt, ap);
		va_end(ap);
	}
	return DDB_TABLES_UNREADABLE;
}

/* Whether s[0..n) holds only bytes of the set (letters are lowercase ones). */
static int only(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	}
	return 1;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"
#define TABLE_CHARS LOWER "ABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS "_.-"

/*
 * Whether what follows a table's name in its ARN is nothing or one of the table's resources,
 * each in its own characters: /index/<name>, /stream/<label>, /backup/<id>, /export/<id>,
 * /import/<id>.  Nothing else is read, so no second table name can hide behind the first.
 */
static int resource_suffix(const char *s)
{
	static const struct {
		const char *kind;
		const char *chars;
	} kinds[] = {
		{ "/index/", TABLE_CHARS }, { "/stream/", DIGITS "T:.-" },
		{ "/backup/", DIGITS "abcdef-" }, { "/export/", DIGITS "abcdef-" },
		{ "/import/", DIGITS "abcdef-" },
	};

	if (*s == '\0')
		return 1;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t k = strlen(kinds[i].kind), n;

		if (strncmp(s, kinds[i].kind, k) != 0)
			continue;
		n = strlen(s + k);
		return n > 0 && only(s + k, n, kinds[i].chars);
	}
	return 0;
}

int ddb_table_of(const char *value, char *out, size_t cap)
{
	/* arn:<partition>:dynamodb:<region>:<account>:table/<name>[/...]; each field is read
	 * strictly, so that no other reading of the same text names another table. */
	static const char *const field_sets[] = { LOWER "-", LOWER, LOWER DIGITS "-", DIGITS };
	const char *p = value;
	size_t n;

	if (strncmp(value, "arn:", 4) != 0) {
		n = strlen(value);
		goto copy;
	}
	p += 4;
	for (size_t f = 0; f < sizeof(field_sets) / sizeof(field_sets[0]); f++) {
		const char *end = strchr(p, ':');
		if (end == NULL || !only(p, (size_t)(end - p), field_sets[f]))
			return -1;
		if (f == 1 && ((size_t)(end - p) != 8 || strncmp(p, "dynamodb", 8) != 0))
			return -1;
		p = end + 1;
	}
	if (strncmp(p, "table/", 6) != 0)
		return -1;
	value = p + 6;
	n = strcspn(value, "/");
	if (n == 0 || !only(value, n, TABLE_CHARS) || !resource_suffix(value + n))
		return -1;
copy:
	if (n >= cap)
		return -1;
	memcpy(out, value, n);
	out[n] = '\0';
	return 0;
}

/* Gives one table name or ARN to the callback. */
static enum ddb_tables_result name_one(struct walk *w, const char *value, const char *member)
{
	char table[1024];

	if (ddb_table_of(value, table, sizeof(table)) != 0)
		return unreadable(w, "%s holds an ARN that is not a DynamoDB table's (or one of its "
				  "resources')", member);
	w->named++;
	return w->cb(w->arg, table, member) != 0 ? DDB_TABLES_STOPPED : DDB_TABLES_OK;
}

/*
 * The member name of obj, read exactly; a member whose key differs from it only in letter
 * case makes obj unreadable (a parser that matched keys without case would read that one).
 */
static enum ddb_tables_result get_member(struct walk *w, const cJSON *obj, const char *name,
					 const cJSON **out)
{
	*out = NULL;
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		if (c->string == NULL)
			continue;
		if (strcmp(c->string, name) == 0)
			*out = c;
		else if (strcasecmp(c->string, name) == 0)
			return unreadable(w, "the member \"%.64s\" differs from %s only in letter case",
					  c->string, name);
	}
	return DDB_TABLES_OK;
}

static enum ddb_tables_result walk_transact(struct walk *w, const cJSON *list)
{
	char where[96];
	int i = 0;

	if (!cJSON_IsArray(list))
		return unreadable(w, "%s is not a list", "TransactItems");
	for (const cJSON *e = list->child; e != NULL; e = e->next, i++) {
		if (!cJSON_IsObject(e) || e->child == NULL)
			return unreadable(w, "an entry of %s is not an object with an action",
					  "TransactItems");
		for (const cJSON *action = e->child; action != NULL; action = action->next) {
			const cJSON *name;
			enum ddb_tables_result r;

			snprintf(where, sizeof(where), "TransactItems[%d].%.32s", i,
				 action->string ? action->string : "");
			if (!cJSON_IsObject(action))
				return unreadable(w, "%s is not an object", where);
			strcat(where, ".TableName");
			if ((r = get_member(w, action, "TableName", &name)) != DDB_TABLES_OK)
				return r;
			if (!cJSON_IsString(name))
				return unreadable(w, "%s is %s", where, name ? "not a string" : "missing");
			if ((r = name_one(w, name->valuestring, where)) != DDB_TABLES_OK)
				return r;
		}
	}
	return DDB_TABLES_OK;
}

static enum ddb_tables_result walk_member(struct walk *w, const struct member *m, const cJSON *v)
{
	enum ddb_tables_result r;
	const cJSON *name;

	switch (m->kind) {
	case M_NAME:
		if (!cJSON_IsString(v))
			return unreadable(w, "%s is not a string", m->name);
		return name_one(w, v->valuestring, m->name);
	case M_MAP:
		if (!cJSON_IsObject(v))
			return unreadable(w, "%s is not a map of table names", m->name);
		for (const cJSON *c = v->child; c != NULL; c = c->next) {
			if (c->string == NULL)
				return unreadable(w, "%s has a member without a name", m->name);
			if ((r = name_one(w, c->string, m->name)) != DDB_TABLES_OK)
				return r;
		}
		return DDB_TABLES_OK;
	case M_TRANSACT:
		return walk_transact(w, v);
	case M_CREATION:
		if (!cJSON_IsObject(v))
			return unreadable(w, "%s is not an object", m->name);
		if ((r = get_member(w, v, "TableName", &name)) != DDB_TABLES_OK)
			return r;
		if (!cJSON_IsString(name))
			return unreadable(w, "%s.TableName is %s", m->name,
					  name ? "not a string" : "missing");
		return name_one(w, name->valuestring, "TableCreationParameters.TableName");
	}
	return unreadable(w, "%s is of an unknown kind", m->name);
}

/* Whether name is, in any letter case, a member that names tables in some operation. */
static int names_tables_somewhere(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		for (size_t j = 0; j < MEMBERS_MAX && ops[i].members[j].name != NULL; j++) {
			if (strcasecmp(ops[i].members[j].name, name) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * A member that names tables in another operation (a TargetTableName sent with GetItem) is
 * refused too: DynamoDB does not read it there today, but nothing would be checked if it did.
 */
static enum ddb_tables_result foreign_members(struct walk *w, const struct op_tables *o,
					      const cJSON *doc)
{
	for (const cJSON *c = doc->child; c != NULL; c = c->next) {
		size_t j = 0;

		if (c->string == NULL || !names_tables_somewhere(c->string))
			continue;
		while (j < MEMBERS_MAX && o->members[j].name != NULL &&
		       strcasecmp(o->members[j].name, c->string) != 0)
			j++;
		if (j == MEMBERS_MAX || o->members[j].name == NULL)
			return unreadable(w, "it has the member \"%.64s\", which names tables in other "
					  "operations but not in %s", c->string, o->op);
	}
	return DDB_TABLES_OK;
}

enum ddb_tables_result ddb_request_tables(const char *op, const cJSON *doc, ddb_table_cb cb,
					  void *arg, char *why, size_t why_cap)
{
	const struct op_tables *o = find_op(op);
	struct walk w = { cb, arg, why, why_cap, 0 };
	enum ddb_tables_result r;
	int any_member = 0;

	if (o == NULL)
		return DDB_TABLES_UNKNOWN_OP;
	if (!cJSON_IsObject(doc))
		return unreadable(&w, "the request body is not a JSON object");
	if ((r = foreign_members(&w, o, doc)) != DDB_TABLES_OK)
		return r;
	for (size_t i = 0; i < MEMBERS_MAX && o->members[i].name != NULL; i++) {
		const struct member *m = &o->members[i];
		const cJSON *v;

		any_member = 1;
		if ((r = get_member(&w, doc, m->name, &v)) != DDB_TABLES_OK)
			return r;
		if (v == NULL) {
			if (m->required)
				return unreadable(&w, "%s is missing", m->name);
			continue;
		}
		if ((r = walk_member(&w, m, v)) != DDB_TABLES_OK)
			return r;
	}
	if (any_member && w.named == 0)
		return unreadable(&w, "it names no table");
	return DDB_TABLES_OK;
}
