/*
 * The tree ddb_expr_parse() builds (proxy/ddb/ddb_expr.c): each grammar's constructs, the
 * precedence of NOT, AND and OR, resolved names, list indexes, the text each node spans.
 * Trees are compared in a bracketed form written here: (kind child child ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/ddb/ddb_expr.h"

static const char *const cmps[] = { "=", "<>", "<", "<=", ">", ">=" };
static const char *const fns[] = {
	"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains",
	"size", "if_not_exists", "list_append",
};
static const char *const clauses[] = { "SET", "REMOVE", "ADD", "DELETE" };

static void put(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void put(char *out, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
}

static void dump(const struct ddb_node *n, char *out, size_t cap)
{
	const struct ddb_node *k;

	switch (n->kind) {
	case DDB_NODE_NAME:
		put(out, cap, "%.*s", (int)n->len, n->name);
		return;
	case DDB_NODE_INDEX:
		put(out, cap, "[%lu]", n->index);
		return;
	case DDB_NODE_VALUE:
		put(out, cap, "%.*s", (int)n->len, n->name);
		return;
	case DDB_NODE_PATH:
		for (k = n->kids; k != NULL; k = k->next) {
			if (k != n->kids && k->kind == DDB_NODE_NAME)
				put(out, cap, ".");
			dump(k, out, cap);
		}
		return;
	default:
		break;
	}
	put(out, cap, "(%s", n->kind == DDB_NODE_CMP ? cmps[n->op] :
	    n->kind == DDB_NODE_CALL ? fns[n->op] : n->kind == DDB_NODE_ACTION ? clauses[n->op] :
	    n->kind == DDB_NODE_BETWEEN ? "BETWEEN" : n->kind == DDB_NODE_IN ? "IN" :
	    n->kind == DDB_NODE_AND ? "AND" : n->kind == DDB_NODE_OR ? "OR" :
	    n->kind == DDB_NODE_NOT ? "NOT" : n->kind == DDB_NODE_PLUS ? "+" :
	    n->kind == DDB_NODE_MINUS ? "-" : "LIST");
	for (k = n->kids; k != NULL; k = k->next) {
		put(out, cap, " ");
		dump(k, out, cap);
	}
	put(out, cap, ")");
}

/* The tree of expr as text, or the error message. */
static const char *tree(enum ddb_expr_kind kind, const char *expr, const char *names_json)
{
	static char out[1024];
	struct ds_error err = { 0 };
	struct ddb_expr e;
	cJSON *names = names_json ? cJSON_Parse(names_json) : NULL;

	out[0] = '\0';
	if (ddb_expr_parse(kind, "X", expr, names, &e, &err) != 0)
		snprintf(out, sizeof(out), "error: %s", err.message);
	else
		dump(e.root, out, sizeof(out));
	ddb_expr_release(&e);
	cJSON_Delete(names);
	return out;
}

#define COND(e, want) assert_string_equal(tree(DDB_EXPR_CONDITION, e, NULL), want)
#define UPD(e, want) assert_string_equal(tree(DDB_EXPR_UPDATE, e, NULL), want)

static void test_conditions(void **state)
{
	(void)state;
	COND("a = :v", "(= a :v)");
	COND("a <> :v", "(<> a :v)");
	COND("a<=:v", "(<= a :v)");
	COND(":v >= a.b[2].c", "(>= :v a.b[2].c)");
	COND("a < b", "(< a b)");
	COND("a > :v", "(> a :v)");
	COND("a BETWEEN :lo AND :hi", "(BETWEEN a :lo :hi)");
	COND("a IN (:x, :y, b)", "(IN a :x :y b)");
	COND("attribute_exists(a)", "(attribute_exists a)");
	COND("attribute_type(a, :t)", "(attribute_type a :t)");
	COND("begins_with(a.b, :p)", "(begins_with a.b :p)");
	COND("contains(a, :x)", "(contains a :x)");
	COND("size(a) > :n", "(> (size a) :n)");
	COND("size(a[0]) BETWEEN size(b) AND :n", "(BETWEEN (size a[0]) (size b) :n)");
	/* NOT binds tighter than AND, AND than OR; a chain of one of them is one node */
	COND("a = :x OR b = :y AND c = :z", "(OR (= a :x) (AND (= b :y) (= c :z)))");
	COND("a = :x AND b = :y OR c = :z", "(OR (AND (= a :x) (= b :y)) (= c :z))");
	COND("NOT a = :x AND b = :y", "(AND (NOT (= a :x)) (= b :y))");
	COND("NOT NOT attribute_exists(a)", "(NOT (NOT (attribute_exists a)))");
	COND("a = :x AND b = :y AND c = :z", "(AND (= a :x) (= b :y) (= c :z))");
	COND("a = :x OR b = :y OR c = :z AND d = :w OR e = :v",
	     "(OR (= a :x) (= b :y) (AND (= c :z) (= d :w)) (= e :v))");
	COND("(a = :x AND b = :y) AND c = :z", "(AND (AND (= a :x) (= b :y)) (= c :z))");
	COND("(a = :x OR b = :y) AND c = :z", "(AND (OR (= a :x) (= b :y)) (= c :z))");
	COND("a[18446744073709551616] = :v", "(= a[18446744073709551615] :v)");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(tree(DDB_EXPR_CONDITION, "#a.#b[1] = :v", "{\"#a\":\"x.y\",\"#b\":\"z\"}"),
			    "(= x.y.z[1] :v)");
	assert_string_equal(tree(DDB_EXPR_CONDITION, "#a = :v", "{}"),
			    "error: Invalid X: An expression attribute name used in the document "
			    "path is not defined; attribute name: #a");
}

static void test_updates(void **state)
{
	(void)state;
	UPD("SET a = :v", "(LIST (SET a :v))");
	UPD("SET a = a + :one, b = :x - c", "(LIST (SET a (+ a :one)) (SET b (- :x c)))");
	UPD("SET a = if_not_exists(a, :z) + :one", "(LIST (SET a (+ (if_not_exists a :z) :one)))");
	UPD("SET l = list_append(l, :more)", "(LIST (SET l (list_append l :more)))");
	UPD("REMOVE a, b[3] ADD n :one DELETE s :x SET c = :c",
	    "(LIST (REMOVE a) (REMOVE b[3]) (ADD n :one) (DELETE s :x) (SET c :c))");
	assert_string_equal(tree(DDB_EXPR_PROJECTION, "a, b.c, d[0]", NULL), "(LIST a b.c d[0])");
}

/* Each node spans the text it was parsed from. */
static void test_spans(void **state)
{
	static const char expr[] = "NOT (a.b[1] = :v) OR size(c) IN (:x, :y)";
	struct ds_error err = { 0 };
	struct ddb_expr e;
	const struct ddb_node *or, *not, *in;

	(void)state;
	assert_int_equal(ddb_expr_parse(DDB_EXPR_CONDITION, "X", expr, NULL, &e, &err), 0);
	or = e.root;
	assert_int_equal(or->off, 0);
	assert_int_equal(or->end, strlen(expr));
	not = or->kids;
	assert_int_equal(not->kind, DDB_NODE_NOT);
	assert_int_equal(not->kids->off, 5);                   /* a.b[1] = :v, inside the parens */
	assert_int_equal(not->kids->end, 16);
	assert_int_equal(not->kids->kids->end, 11);            /* a.b[1] */
	in = not->next;
	assert_int_equal(in->kind, DDB_NODE_IN);
	assert_int_equal(in->off, 21);
	assert_int_equal(in->end, strlen(expr));
	assert_int_equal(in->kids->kind, DDB_NODE_CALL);
	assert_int_equal(in->kids->end, 28);                   /* size(c) */
	ddb_expr_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_updates),
		cmocka_unit_test(test_spans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
