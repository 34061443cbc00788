/*
 * Expression parsing (proxy/ddb/ddb_expr.c): which attributes DynamoDB expressions reference and
 * which an update writes, exact errors for malformed input, and projection parsing,
 * extension and stripping.  Most expressions are the examples of the DynamoDB Developer
 * Guide's pages on condition, projection and update expressions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/ddb/ddb_expr.h"
#include "proxy/ddb/ddb_expr_lex.h"

/* What the callback saw, as "name:written:nested" joined with ' ', and how to refuse. */
struct seen {
	char text[2048];        /* the report */
	int calls;              /* callback invocations */
	const char *stop_at;    /* refuse this name (setting err) */
	int stop_silently;      /* refuse it without setting err */
};

static int record(void *arg, const char *name, size_t len, int written, int nested, struct ds_error *err)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	s->calls++;
	if (s->stop_at != NULL && strlen(s->stop_at) == len && memcmp(s->stop_at, name, len) == 0) {
		if (!s->stop_silently)
			ds_error_set(err, 403, DS_ERR_ACCESS_DENIED, "refused %.*s", (int)len, name);
		return -1;
	}
	snprintf(s->text + n, sizeof(s->text) - n, "%s%.*s:%d:%d", n ? " " : "", (int)len, name,
		 written, nested);
	return 0;
}

/* Last error, for the negative tests. */
static struct ds_error last_err;

/* Scans expr; returns the report, or NULL with last_err set. */
static const char *scan_with(struct seen *s, enum ddb_expr_kind kind, const char *param,
			     const char *expr, const char *names_json)
{
	cJSON *names = names_json ? cJSON_Parse(names_json) : NULL;
	int rc;

	if (names_json != NULL)
		assert_non_null(names);
	memset(s->text, 0, sizeof(s->text));
	s->calls = 0;
	memset(&last_err, 0, sizeof(last_err));
	rc = ddb_expr_scan(kind, param, expr, names, record, s, &last_err);
	cJSON_Delete(names);
	if (rc == 0) {
		assert_int_equal(last_err.status, 0);
		return s->text;
	}
	assert_int_equal(rc, -1);
	assert_int_not_equal(last_err.status, 0);
	return NULL;
}

static const char *scan(enum ddb_expr_kind kind, const char *expr, const char *names_json)
{
	static struct seen s;

	s.stop_at = NULL;
	s.stop_silently = 0;
	return scan_with(&s, kind, kind == DDB_EXPR_UPDATE ? "UpdateExpression" :
			 kind == DDB_EXPR_PROJECTION ? "ProjectionExpression" : "ConditionExpression",
			 expr, names_json);
}

#define COND(expr, names, want) assert_string_equal(scan(DDB_EXPR_CONDITION, expr, names), want)
#define UPD(expr, names, want) assert_string_equal(scan(DDB_EXPR_UPDATE, expr, names), want)
#define PROJ(expr, names, want) assert_string_equal(scan(DDB_EXPR_PROJECTION, expr, names), want)

/* Fails with a 400 ValidationException whose message is exactly msg. */
static void fails(enum ddb_expr_kind kind, const char *expr, const char *names, const char *msg)
{
	if (scan(kind, expr, names) != NULL)
		fail_msg("accepted: %s", expr);
	assert_int_equal(last_err.status, 400);
	assert_string_equal(last_err.type, DS_ERR_VALIDATION);
	assert_string_equal(last_err.message, msg);
}

/* Fails with a 400 ValidationException whose message contains part. */
static void fails_with(enum ddb_expr_kind kind, const char *expr, const char *names, const char *part)
{
	if (scan(kind, expr, names) != NULL)
		fail_msg("accepted: %s", expr);
	assert_int_equal(last_err.status, 400);
	assert_string_equal(last_err.type, DS_ERR_VALIDATION);
	if (strstr(last_err.message, part) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", last_err.message, part);
}

static void test_condition_functions(void **state)
{
	(void)state;
	COND("attribute_not_exists(Id)", NULL, "Id:0:0");
	COND("attribute_exists (#Pictures.#SideView)",
	     "{\"#Pictures\":\"Pictures\",\"#SideView\":\"SideView\"}", "Pictures:0:1");
	COND("attribute_type (ProductReviews.FiveStar, :v_sub)", NULL, "ProductReviews:0:1");
	COND("begins_with (Pictures.FrontView, :v_sub)", NULL, "Pictures:0:1");
	COND("contains (Color, :v_sub)", NULL, "Color:0:0");
	COND("contains(Tags, Brand)", NULL, "Tags:0:0 Brand:0:0");
	COND("size (Brand) <= :v_sub", NULL, "Brand:0:0");
	COND("size(ProductReviews.OneStar) > :v_sub", NULL, "ProductReviews:0:1");
	COND(":max >= size(Color)", NULL, "Color:0:0");
	COND("attribute_not_exists(pk) AND attribute_not_exists(sk)", NULL, "pk:0:0 sk:0:0");
	COND("attribute_exists(pk) AND NOT begins_with(#s, :p)", "{\"#s\":\"sort\"}",
	     "pk:0:0 sort:0:0");
}

static void test_condition_operators(void **state)
{
	(void)state;
	COND("Price > :limit", NULL, "Price:0:0");
	COND("ProductCategory IN (:cat1, :cat2) and Price between :lo and :hi", NULL,
	     "ProductCategory:0:0 Price:0:0");
	COND("#P between :lo and :hi", "{\"#P\":\"Price\"}", "Price:0:0");
	COND("a IN (b, :v, c.d)", NULL, "a:0:0 b:0:0 c:0:1");
	COND("a >= b", NULL, "a:0:0 b:0:0");
	COND("(a <> :v) and (b<=:w)", NULL, "a:0:0 b:0:0");
	COND("a<:x OR b>:y OR c=:z", NULL, "a:0:0 b:0:0 c:0:0");
	COND("(attribute_exists(Id) AND attribute_not_exists(Price)) OR NOT contains(Color, :c)",
	     NULL, "Id:0:0 Price:0:0 Color:0:0");
	COND("NOT NOT a = :v", NULL, "a:0:0");
	COND("pk = :pk AND begins_with(sk, :pre)", NULL, "pk:0:0 sk:0:0");
	COND("#yr = :yyyy and title between :letter1 and :letter2", "{\"#yr\":\"year\"}",
	     "year:0:0 title:0:0");
	COND("price BETWEEN :lo AND :hi or tags.color IN (:a, :b)", NULL, "price:0:0 tags:0:1");
	COND("\tnm = :n\r\n AND\nage > :a ", NULL, "nm:0:0 age:0:0");
	COND("_private = :v AND a1 = :w", NULL, "_private:0:0 a1:0:0");
	/* An operand in one pair of parentheses, wherever a comparison takes one. */
	COND("(size(a)) = :n", NULL, "a:0:0");
	COND("((size(a)) = :n)", NULL, "a:0:0");
	COND("(a) BETWEEN (:lo) AND :hi AND (b) IN (:x, :y) AND c = (d.e)", NULL,
	     "a:0:0 b:0:0 c:0:0 d:0:1");
	/* ... also in an IN list and as a function's argument. */
	COND("a IN ((b), (:v)) AND begins_with((c), (:p)) AND attribute_exists((d.e))", NULL,
	     "a:0:0 b:0:0 c:0:0 d:0:1");
	/* Keywords are case-insensitive. */
	COND("a = :v aNd b = :w Or NoT c = :x", NULL, "a:0:0 b:0:0 c:0:0");
	COND("x BeTwEeN :a AnD :b AND y in (:c)", NULL, "x:0:0 y:0:0");
}

static void test_condition_paths(void **state)
{
	(void)state;
	COND("ProductReviews.FiveStar[0] <> :v", NULL, "ProductReviews:0:1");
	COND("RelatedItems[1] < :v", NULL, "RelatedItems:0:1");
	COND("a[1][2].b = :v", NULL, "a:0:1");
	COND("a [ 1 ] . b = :v", NULL, "a:0:1");
	COND("#a.#b[2].c = :v", "{\"#a\":\"a\",\"#b\":\"b\"}", "a:0:1");
	COND("size(#l[2].x) > :n AND attribute_type(a, :t)", "{\"#l\":\"my.list\"}",
	     "my.list:0:1 a:0:0");
	/* A name with a dot needs a placeholder and is one attribute. */
	COND("#ab = :v", "{\"#ab\":\"a.b\"}", "a.b:0:0");
	COND("#ab.c = :v", "{\"#ab\":\"a.b\"}", "a.b:0:1");
	/* The same name twice is reported twice; the text is resolved, not the placeholder. */
	COND("#n = :a OR #n = :b OR nm = :c", "{\"#n\":\"nm\"}", "nm:0:0 nm:0:0 nm:0:0");
	/* Reserved words stand for names through placeholders, below the top level too. */
	COND("a.#s = :v AND b.#a = :w", "{\"#s\":\"size\",\"#a\":\"and\"}", "a:0:1 b:0:1");
}

static void test_updates(void **state)
{
	(void)state;
	UPD("SET ProductCategory = :c, Price = :p", NULL, "ProductCategory:1:0 Price:1:0");
	UPD("SET RelatedItems[1] = :ri", NULL, "RelatedItems:1:1");
	UPD("SET #pr.#5star[1] = :r5, #pr.#3star = :r3",
	    "{\"#pr\":\"ProductReviews\",\"#5star\":\"FiveStar\",\"#3star\":\"ThreeStar\"}",
	    "ProductReviews:1:1 ProductReviews:1:1");
	UPD("SET Price = Price - :p", NULL, "Price:1:0 Price:0:0");
	/* Parenthesized operands and values ("set b.c=((c[1])+(b.a))", as dynalite's own suite,
	 * which is run against DynamoDB, writes them; moto answers them with a 500). */
	UPD("set b.c=((c[1])+(b.a)), d = (e), f = (g) - :one, h = ((i))", NULL,
	    "b:1:1 c:0:1 b:0:1 d:1:0 e:0:0 f:1:0 g:0:0 h:1:0 i:0:0");
	UPD("SET Price = Price + :p", NULL, "Price:1:0 Price:0:0");
	UPD("SET #ri = list_append(#ri, :vals)", "{\"#ri\":\"RelatedItems\"}",
	    "RelatedItems:1:0 RelatedItems:0:0");
	UPD("SET #ri = list_append(:vals, #ri)", "{\"#ri\":\"RelatedItems\"}",
	    "RelatedItems:1:0 RelatedItems:0:0");
	UPD("SET Price = if_not_exists(Price, :p)", NULL, "Price:1:0 Price:0:0");
	UPD("SET #ri = list_append(if_not_exists(#ri, :empty), :vals)", "{\"#ri\":\"RI\"}",
	    "RI:1:0 RI:0:0");
	UPD("SET a = if_not_exists(b, c + :one)", NULL, "a:1:0 b:0:0 c:0:0");
	UPD("SET a = list_append(:v, b.c), m.k = src", NULL, "a:1:0 b:0:1 m:1:1 src:0:0");
	UPD("SET a = :x + :y", NULL, "a:1:0");
	UPD("REMOVE Brand, InStock, QuantityOnHand", NULL, "Brand:1:0 InStock:1:0 QuantityOnHand:1:0");
	UPD("REMOVE RelatedItems[1], RelatedItems[2]", NULL, "RelatedItems:1:1 RelatedItems:1:1");
	UPD("ADD QuantityOnHand :q", NULL, "QuantityOnHand:1:0");
	UPD("ADD Color :c", NULL, "Color:1:0");
	UPD("DELETE Color :p", NULL, "Color:1:0");
	/* All four clauses, in any order, keywords in any case. */
	UPD("SET a = :v, #b = if_not_exists(#b, :z) + :one REMOVE c, d[1] add e :n delete f :s",
	    "{\"#b\":\"bee\"}", "a:1:0 bee:1:0 bee:0:0 c:1:0 d:1:1 e:1:0 f:1:0");
	UPD("delete f :s Remove c sEt a = b + :one ADD e :n, g :m", NULL,
	    "f:1:0 c:1:0 a:1:0 b:0:0 e:1:0 g:1:0");
	UPD("SET visits = visits + :one, last_seen = :t", NULL,
	    "visits:1:0 visits:0:0 last_seen:1:0");
	UPD("SET #t = #t + :d", "{\"#t\":\"total\"}", "total:1:0 total:0:0");
}

static void test_projections(void **state)
{
	(void)state;
	PROJ("Description, RelatedItems[0], ProductReviews.FiveStar", NULL,
	     "Description:0:0 RelatedItems:0:1 ProductReviews:0:1");
	PROJ("a, #b.c, d[0]", "{\"#b\":\"B\"}", "a:0:0 B:0:1 d:0:1");
	PROJ("#c", "{\"#c\":\"Comment\"}", "Comment:0:0");
}

static void test_placeholder_errors(void **state)
{
	(void)state;
	fails(DDB_EXPR_CONDITION, "#x = :v", "{\"#y\":\"a\"}",
	      "Invalid ConditionExpression: An expression attribute name used in the document "
	      "path is not defined; attribute name: #x");
	fails(DDB_EXPR_CONDITION, "#x = :v", NULL,
	      "Invalid ConditionExpression: An expression attribute name used in the document "
	      "path is not defined; attribute name: #x");
	/* Placeholders are case-sensitive; nested ones must exist too. */
	fails_with(DDB_EXPR_UPDATE, "SET #X = :v", "{\"#x\":\"a\"}", "attribute name: #X");
	fails(DDB_EXPR_PROJECTION, "a.#nope", "{}",
	      "Invalid ProjectionExpression: An expression attribute name used in the document "
	      "path is not defined; attribute name: #nope");
	fails(DDB_EXPR_CONDITION, "#x = :v", "{\"#x\":5}",
	      "Invalid ConditionExpression: ExpressionAttributeNames entry #x must be a string "
	      "(an attribute name)");
	/* names that is not an object holds no placeholder. */
	fails_with(DDB_EXPR_CONDITION, "#x = :v", "[\"#x\"]", "attribute name: #x");
	fails(DDB_EXPR_CONDITION, "# = :v", NULL,
	      "Invalid ConditionExpression: Syntax error; token: \"#\", near: \"#\"");
	fails(DDB_EXPR_CONDITION, "a = :", NULL,
	      "Invalid ConditionExpression: Syntax error; token: \":\", near: \"= :\"");
}

static void ok_condition(const char *expr)
{
	struct ds_error err = { 0 };

	if (ddb_expr_scan(DDB_EXPR_CONDITION, "ConditionExpression", expr, NULL, NULL, NULL, &err) != 0)
		fail_msg("%s: %s", expr, err.message);
}

/* (grammar, expression, DynamoDB's refusal) */
struct refusal {
	enum ddb_expr_kind kind;
	const char *expr;
	const char *message;
};

static void refused_all(const struct refusal *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fails(r[i].kind, r[i].expr, NULL, r[i].message);
}

static void test_syntax_errors(void **state)
{
	/* DynamoDB's words: the token (<EOF> at the end) and the text from the token before
	 * it through the token after it; the same as moto's for update expressions. */
	static const struct refusal syntax[] = {
		{ DDB_EXPR_CONDITION, "(a = :v",
		  "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":v\"" },
		{ DDB_EXPR_CONDITION, "a = :v)",
		  "Invalid ConditionExpression: Syntax error; token: \")\", near: \":v)\"" },
		{ DDB_EXPR_CONDITION, "((a = :v) AND b = :w",
		  "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":w\"" },
		{ DDB_EXPR_CONDITION, "a IN (:x, :y",
		  "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":y\"" },
		{ DDB_EXPR_CONDITION, "a = $v",
		  "Invalid ConditionExpression: Syntax error; token: \"$\", near: \"= $\"" },
		{ DDB_EXPR_CONDITION, "a = :v;",
		  "Invalid ConditionExpression: Syntax error; token: \";\", near: \":v;\"" },
		{ DDB_EXPR_CONDITION, "été = :v",
		  "Invalid ConditionExpression: Syntax error; token: \"é\", near: \"é\"" },
		{ DDB_EXPR_CONDITION, "first-name = :v",
		  "Invalid ConditionExpression: Syntax error; token: \"-\", near: \"first-name\"" },
		{ DDB_EXPR_CONDITION, "a :v",
		  "Invalid ConditionExpression: Syntax error; token: \":v\", near: \"a :v\"" },
		{ DDB_EXPR_CONDITION, "a = ",
		  "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\"" },
		{ DDB_EXPR_CONDITION, "a = :v b = :w",
		  "Invalid ConditionExpression: Syntax error; token: \"b\", near: \":v b =\"" },
		{ DDB_EXPR_CONDITION, "a = :v AND",
		  "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\"" },
		{ DDB_EXPR_CONDITION, "a BETWEEN :x OR :y",
		  "Invalid ConditionExpression: Syntax error; token: \"OR\", near: \":x OR :y\"" },
		{ DDB_EXPR_CONDITION, "a IN :x",
		  "Invalid ConditionExpression: Syntax error; token: \":x\", near: \"IN :x\"" },
		{ DDB_EXPR_CONDITION, "a = b + :c",
		  "Invalid ConditionExpression: Syntax error; token: \"+\", near: \"b + :c\"" },
		{ DDB_EXPR_CONDITION, "a.[1] = :v",
		  "Invalid ConditionExpression: Syntax error; token: \"[\", near: \".[1\"" },
		{ DDB_EXPR_CONDITION, "a[x] = :v",
		  "Invalid ConditionExpression: Syntax error; token: \"x\", near: \"[x]\"" },
		{ DDB_EXPR_CONDITION, "a[1 = :v",
		  "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"1 = :v\"" },
		{ DDB_EXPR_CONDITION, "1a = :v",
		  "Invalid ConditionExpression: Syntax error; token: \"1\", near: \"1a\"" },
		{ DDB_EXPR_CONDITION, "(a = :v) (b = :w)",
		  "Invalid ConditionExpression: Syntax error; token: \"(\", near: \") (b\"" },
		{ DDB_EXPR_PROJECTION, "size(a)",
		  "Invalid ProjectionExpression: Syntax error; token: \"(\", near: \"size(a\"" },
		{ DDB_EXPR_PROJECTION, "a b",
		  "Invalid ProjectionExpression: Syntax error; token: \"b\", near: \"a b\"" },
	};
	/* Functions: known names only, case-sensitive, in their own grammar and place. */
	static const struct refusal functions[] = {
		{ DDB_EXPR_CONDITION, "foo(a)",
		  "Invalid ConditionExpression: Invalid function name; function: foo" },
		{ DDB_EXPR_CONDITION, "SIZE(a) > :v",
		  "Invalid ConditionExpression: Invalid function name; function: SIZE" },
		{ DDB_EXPR_CONDITION, "if_not_exists(a, :v) = :w",
		  "Invalid ConditionExpression: Invalid function name; function: if_not_exists" },
		{ DDB_EXPR_UPDATE, "SET a = size(b)",
		  "Invalid UpdateExpression: Syntax error; token: \"(\", near: \"size(b\"" },
		{ DDB_EXPR_CONDITION, "a = contains(b, :v)",
		  "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: contains" },
		{ DDB_EXPR_CONDITION, "attribute_exists(:v)",
		  "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists" },
		{ DDB_EXPR_CONDITION, "attribute_exists(a, b)",
		  "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2" },
		{ DDB_EXPR_CONDITION, "begins_with(a)",
		  "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1" },
		{ DDB_EXPR_CONDITION, "size(a)",
		  "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size" },
	};

	(void)state;
	refused_all(syntax, sizeof(syntax) / sizeof(syntax[0]));
	/* A parenthesized condition alone inside parentheses: DynamoDB refuses it. */
	fails(DDB_EXPR_CONDITION, "((a = :v))", NULL,
	      "Invalid ConditionExpression: The expression has redundant parentheses;");
	fails(DDB_EXPR_CONDITION, "NOT ( ( a = :v OR b = :w ) )", NULL,
	      "Invalid ConditionExpression: The expression has redundant parentheses;");
	fails_with(DDB_EXPR_CONDITION, "c = :x AND ((a = :v))", NULL, "redundant parentheses");
	fails(DDB_EXPR_CONDITION, "((a)) = :v", NULL,
	      "Invalid ConditionExpression: The expression has redundant parentheses;");
	fails(DDB_EXPR_UPDATE, "SET a = (((b)))", NULL,
	      "Invalid UpdateExpression: The expression has redundant parentheses;");
	fails_with(DDB_EXPR_UPDATE, "SET a = ((b) + c) + d", NULL, "Syntax error");
	fails_with(DDB_EXPR_CONDITION, "(a) = :v)", NULL, "Syntax error");
	ok_condition("(a = :v)");
	ok_condition("((a = :v) AND (b = :w))");
	ok_condition("(a = :v) AND ((b = :w) OR c = :x)");
	ok_condition("NOT (a = :v)");
	/* Keywords are never bare names. */
	fails(DDB_EXPR_CONDITION, "a = :v AND in = :w", NULL,
	      "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: in");
	/* DynamoDB's 573 reserved words, in any case, at any level of a path. */
	fails(DDB_EXPR_UPDATE, "SET Status = :v", NULL,
	      "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: Status");
	fails_with(DDB_EXPR_CONDITION, "a.size = :v", NULL, "reserved keyword: size");
	fails_with(DDB_EXPR_CONDITION, "a[0].year = :v", NULL, "reserved keyword: year");
	fails_with(DDB_EXPR_PROJECTION, "a, zone", NULL, "reserved keyword: zone");
	fails_with(DDB_EXPR_PROJECTION, "ABORT", NULL, "reserved keyword: ABORT");
	COND("zones = :v AND abor = :w AND a.nomen = :x", NULL, "zones:0:0 abor:0:0 a:0:1");
	fails_with(DDB_EXPR_PROJECTION, "a, Delete", NULL, "reserved keyword: Delete");
	refused_all(functions, sizeof(functions) / sizeof(functions[0]));
}

static void test_update_errors(void **state)
{
	static const struct refusal update[] = {
		{ DDB_EXPR_UPDATE, "SET a :v",
		  "Invalid UpdateExpression: Syntax error; token: \":v\", near: \"a :v\"" },
		{ DDB_EXPR_UPDATE, "SET a = :v, b",
		  "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"b\"" },
		{ DDB_EXPR_UPDATE, "SET a < :v",
		  "Invalid UpdateExpression: Syntax error; token: \"<\", near: \"a < :v\"" },
		{ DDB_EXPR_UPDATE, "SET a = :v SET b = :w",
		  "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;" },
		{ DDB_EXPR_UPDATE, "remove a ADD b :v REMOVE c",
		  "Invalid UpdateExpression: The \"REMOVE\" section can only be used once in an update expression;" },
		{ DDB_EXPR_UPDATE, "a = :v",
		  "Invalid UpdateExpression: Syntax error; token: \"a\", near: \"a =\"" },
		{ DDB_EXPR_UPDATE, "SET a = :v b = :w",
		  "Invalid UpdateExpression: Syntax error; token: \"b\", near: \":v b =\"" },
		{ DDB_EXPR_UPDATE, "SET",
		  "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"SET\"" },
		{ DDB_EXPR_UPDATE, "SET a = :v,",
		  "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \",\"" },
		{ DDB_EXPR_UPDATE, "ADD a",
		  "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"a\"" },
		{ DDB_EXPR_UPDATE, "DELETE a b",
		  "Invalid UpdateExpression: Syntax error; token: \"b\", near: \"a b\"" },
		{ DDB_EXPR_UPDATE, "REMOVE a = :v",
		  "Invalid UpdateExpression: Syntax error; token: \"=\", near: \"a = :v\"" },
		{ DDB_EXPR_UPDATE, "SET :v = a",
		  "Invalid UpdateExpression: Syntax error; token: \":v\", near: \"SET :v =\"" },
		{ DDB_EXPR_UPDATE, "SET a = b + c + d",
		  "Invalid UpdateExpression: Syntax error; token: \"+\", near: \"c + d\"" },
		{ DDB_EXPR_UPDATE, "SET a = list_append(b)",
		  "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1" },
	};

	(void)state;
	refused_all(update, sizeof(update) / sizeof(update[0]));
	fails_with(DDB_EXPR_UPDATE, "SET set = :v", NULL, "reserved keyword: set");
}

static void test_limits(void **state)
{
	char *big = malloc(DDB_EXPR_MAX + 2);
	char deep[4096];
	size_t n = 0;

	(void)state;
	assert_non_null(big);
	fails(DDB_EXPR_CONDITION, "", NULL, "Invalid ConditionExpression: The expression can not be empty");
	fails(DDB_EXPR_UPDATE, " \t\r\n ", NULL, "Invalid UpdateExpression: The expression can not be empty");
	fails(DDB_EXPR_PROJECTION, NULL, NULL, "Invalid ProjectionExpression: The expression can not be empty");
	/* Exactly DDB_EXPR_MAX bytes is accepted; one more is not. */
	memset(big, 'a', DDB_EXPR_MAX);
	memcpy(big + DDB_EXPR_MAX - 5, " = :v", 6);
	assert_int_equal(strlen(big), DDB_EXPR_MAX);
	assert_non_null(scan(DDB_EXPR_CONDITION, big, NULL));
	memset(big, 'a', DDB_EXPR_MAX + 1);
	memcpy(big + DDB_EXPR_MAX + 1 - 5, " = :v", 6);
	fails(DDB_EXPR_CONDITION, big, NULL,
	      "Invalid ConditionExpression: longer than 4194304 bytes (DynamoDB accepts 4096)");
	/* A chain as long as that is one node: no deeper for more terms. */
	for (n = 0; n + 16 < DDB_EXPR_MAX; n += 8)
		memcpy(big + n, "a=:v OR ", 8);
	memcpy(big + n, "b = :v", 7);
	assert_non_null(scan(DDB_EXPR_CONDITION, big, NULL));
	n = 0;
	free(big);
	/* Nesting: DDB_EXPR_MAX_DEPTH levels pass, one more is refused. */
	for (int i = 0; i < DDB_EXPR_MAX_DEPTH; i++)
		n += (size_t)sprintf(deep + n, "(b=:v AND ");
	n += (size_t)sprintf(deep + n, "a = :v");
	for (int i = 0; i < DDB_EXPR_MAX_DEPTH; i++)
		deep[n++] = ')';
	deep[n] = '\0';
	assert_non_null(scan(DDB_EXPR_CONDITION, deep, NULL));
	memmove(deep + 10, deep, n + 1);
	memcpy(deep, "(b=:v AND ", 10);
	strcat(deep, ")");
	fails(DDB_EXPR_CONDITION, deep, NULL,
	      "Invalid ConditionExpression: nested deeper than 64 levels at offset 640");
	n = 0;
	for (int i = 0; i <= DDB_EXPR_MAX_DEPTH; i++)
		n += (size_t)sprintf(deep + n, "NOT ");
	strcpy(deep + n, "a = :v");
	fails_with(DDB_EXPR_CONDITION, deep, NULL, "nested deeper than 64 levels");
	n = (size_t)sprintf(deep, "SET a = ");
	for (int i = 0; i <= DDB_EXPR_MAX_DEPTH; i++)
		n += (size_t)sprintf(deep + n, "list_append(:v, ");
	n += (size_t)sprintf(deep + n, "b");
	for (int i = 0; i <= DDB_EXPR_MAX_DEPTH; i++)
		deep[n++] = ')';
	deep[n] = '\0';
	fails_with(DDB_EXPR_UPDATE, deep, NULL, "nested deeper than 64 levels");
	/* Long placeholders are cut in messages, not overflowing them. */
	memset(deep, 'x', sizeof(deep) - 1);
	deep[0] = '#';
	deep[sizeof(deep) - 1] = '\0';
	fails_with(DDB_EXPR_PROJECTION, deep, NULL, "attribute name: #xxxxxxxxx");
	assert_true(strlen(last_err.message) < 300);
}

/* Placeholders used by expressions, read once for many lookups (or one at a time). */
static void test_placeholders_used(void **state)
{
	const char *exprs[] = { "#a.b[1] = :v AND contains(#bb, :vv)", NULL, "SET x = :w",
				":v bad ?? :late" };
	struct ddb_expr_refs used;

	(void)state;
	assert_int_equal(ddb_expr_refs_collect(&used, exprs, 4), 0);
	for (size_t i = 0; i < 5; i++)
		assert_true(ddb_expr_refs_has(&used, (const char *[]){ "#a", ":v", "#bb", ":vv", ":w" }[i]));
	/* ":late" comes after what does not lex: not read, as ddb_expr_uses() does not */
	for (size_t i = 0; i < 6; i++)
		assert_false(ddb_expr_refs_has(&used, (const char *[]){ "#b", "#aa", ":", "a", ":late",
									 "b" }[i]));
	assert_false(ddb_expr_uses(exprs[3], ":late"));
	assert_true(ddb_expr_uses(exprs[0], "#bb"));
	ddb_expr_refs_release(&used);
	assert_int_equal(ddb_expr_refs_collect(&used, exprs + 1, 1), 0);
	assert_false(ddb_expr_refs_has(&used, ":v"));
	ddb_expr_refs_release(&used);
}

static void test_callback_refusal(void **state)
{
	struct seen s = { .stop_at = "secret" };

	(void)state;
	assert_null(scan_with(&s, DDB_EXPR_CONDITION, "FilterExpression",
			      "a = :v OR secret = :w OR b = :x", NULL));
	/* The callback's own error stands and nothing after it is visited. */
	assert_int_equal(last_err.status, 403);
	assert_string_equal(last_err.type, DS_ERR_ACCESS_DENIED);
	assert_string_equal(last_err.message, "refused secret");
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.text, "a:0:0");
	/* A callback that forgets to say why still yields an error. */
	s.stop_silently = 1;
	assert_null(scan_with(&s, DDB_EXPR_UPDATE, "UpdateExpression", "REMOVE secret", NULL));
	assert_int_equal(last_err.status, 400);
	assert_string_equal(last_err.message,
			    "Invalid UpdateExpression: dynaseal refuses the attribute \"secret\"");
}

static void test_projection_parse(void **state)
{
	struct ddb_projection p;
	struct ds_error err = { 0 };
	cJSON *names = cJSON_Parse("{\"#n\":\"name\",\"#d\":\"a.b\"}");

	(void)state;
	assert_int_equal(ddb_projection_parse(" #n , tags[1] ,a.b [2] . c,#d", names, &p, &err), 0);
	assert_int_equal(p.len, 4);
	assert_string_equal(p.paths[0].name, "name");
	assert_string_equal(p.paths[0].text, "#n");
	assert_false(p.paths[0].nested);
	assert_string_equal(p.paths[1].name, "tags");
	assert_string_equal(p.paths[1].text, "tags[1]");
	assert_true(p.paths[1].nested);
	assert_string_equal(p.paths[2].name, "a");
	assert_string_equal(p.paths[2].text, "a.b [2] . c");
	assert_true(p.paths[2].nested);
	assert_string_equal(p.paths[3].name, "a.b");
	assert_string_equal(p.paths[3].text, "#d");
	assert_false(p.paths[3].nested);
	ddb_projection_cleanup(&p);
	assert_null(p.paths);
	assert_int_equal(p.len, 0);
	/* Many paths (the array grows). */
	assert_int_equal(ddb_projection_parse("a,b,c,d,e,f,g,h,i,j,k", NULL, &p, &err), 0);
	assert_int_equal(p.len, 11);
	assert_string_equal(p.paths[10].name, "k");
	ddb_projection_cleanup(&p);
	/* Failures leave out empty. */
	assert_int_equal(ddb_projection_parse("a, b, #zz", names, &p, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.message, "Invalid ProjectionExpression: An expression attribute name "
			    "used in the document path is not defined; attribute name: #zz");
	assert_null(p.paths);
	assert_int_equal(p.len, 0);
	ddb_projection_cleanup(&p);
	assert_int_equal(ddb_projection_parse("a b", NULL, &p, &err), -1);
	assert_string_equal(err.message, "Invalid ProjectionExpression: Syntax error; token: \"b\", "
			    "near: \"a b\"");
	assert_int_equal(ddb_projection_parse("a,", NULL, &p, &err), -1);
	assert_int_equal(ddb_projection_parse(",a", NULL, &p, &err), -1);
	assert_int_equal(ddb_projection_parse("a..b", NULL, &p, &err), -1);
	assert_int_equal(ddb_projection_parse("a = :v", NULL, &p, &err), -1);
	assert_null(p.paths);
	cJSON_Delete(names);
}

static void test_projection_extend(void **state)
{
	struct ddb_projection p;
	struct ds_error err = { 0 };
	cJSON *names = cJSON_Parse("{\"#ds0\":\"taken\",\"#ds2\":\"also\",\"#n\":\"name\"}");
	const char *extra[] = { "name", "email", "aws_dbe_head", "email", NULL, "aws_dbe_foot" };
	char *expr;
	struct ddb_projection again;

	(void)state;
	assert_int_equal(ddb_projection_parse("#ds0, #n , tags[1], #ds2", names, &p, &err), 0);
	expr = ddb_projection_extend(&p, extra, 6, &names, &err);
	assert_non_null(expr);
	/* name is already projected whole; #ds0 and #ds2 are the request's own; email once. */
	assert_string_equal(expr, "#ds0, #n, tags[1], #ds2, #ds1, #ds3, #ds4");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds0")->valuestring, "taken");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds1")->valuestring, "email");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds2")->valuestring, "also");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds3")->valuestring, "aws_dbe_head");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds4")->valuestring, "aws_dbe_foot");
	assert_int_equal(cJSON_GetArraySize(names), 6);
	/* What is sent parses with the extended names and projects every extra whole. */
	assert_int_equal(ddb_projection_parse(expr, names, &again, &err), 0);
	assert_int_equal(again.len, 7);
	assert_string_equal(again.paths[6].name, "aws_dbe_foot");
	assert_false(again.paths[6].nested);
	ddb_projection_cleanup(&again);
	free(expr);
	ddb_projection_cleanup(&p);
	cJSON_Delete(names);

	/* A nested path inside an attribute added whole is dropped: DynamoDB refuses overlaps. */
	names = NULL;
	assert_int_equal(ddb_projection_parse("a, tags[1], tags[2].x, b.c", NULL, &p, &err), 0);
	expr = ddb_projection_extend(&p, (const char *const[]){ "tags" }, 1, &names, &err);
	assert_string_equal(expr, "a, b.c, #ds0");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds0")->valuestring, "tags");
	free(expr);
	cJSON_Delete(names);
	/* Paths DynamoDB refuses together, in its words. */
	ddb_projection_cleanup(&p);
	{
		cJSON *mn = cJSON_Parse("{\"#m\":\"m\"}");
		assert_int_equal(ddb_projection_parse("#m.x, v[1], #m", mn, &p, &err), -1);
		assert_string_equal(err.message, "Invalid ProjectionExpression: Two document paths "
				    "overlap with each other; must remove or rewrite one of these paths; "
				    "path one: [m, x], path two: [m]");
		assert_int_equal(ddb_projection_parse("a.b, a[1]", NULL, &p, &err), -1);
		assert_string_equal(err.message, "Invalid ProjectionExpression: Two document paths "
				    "conflict with each other; must remove or rewrite one of these paths; "
				    "path one: [a, b], path two: [a, [1]]");
		assert_int_equal(ddb_projection_parse("a.b, a.c, a[1].d, e", NULL, &p, &err), -1);
		cJSON_Delete(mn);
	}
	/* Nothing to add: the original paths, and no names object is created. */
	assert_int_equal(ddb_projection_parse("a, tags[1], tags[2].x, b.c", NULL, &p, &err), 0);
	names = NULL;
	expr = ddb_projection_extend(&p, (const char *const[]){ "a" }, 1, &names, &err);
	assert_string_equal(expr, "a, tags[1], tags[2].x, b.c");
	assert_null(names);
	free(expr);
	/* names that is not an object is refused. */
	names = cJSON_CreateArray();
	assert_null(ddb_projection_extend(&p, (const char *const[]){ "z" }, 1, &names, &err));
	assert_int_equal(err.status, 400);
	assert_string_equal(err.message, "ExpressionAttributeNames must be a map of #placeholders to "
			    "attribute names");
	cJSON_Delete(names);
	ddb_projection_cleanup(&p);
}

static void test_projection_strip(void **state)
{
	struct ddb_projection p;
	struct ds_error err = { 0 };
	cJSON *names = cJSON_Parse("{\"#d\":\"a.b\",\"#n\":\"name\"}");
	cJSON *item = cJSON_Parse("{\"name\":{\"S\":\"a\"},\"tags\":{\"L\":[{\"S\":\"x\"},{\"S\":\"y\"}]},"
				  "\"email\":{\"S\":\"e\"},\"a.b\":{\"N\":\"1\"},\"a\":{\"N\":\"2\"},"
				  "\"aws_dbe_head\":{\"B\":\"AA==\"}}");
	char *out;

	(void)state;
	assert_int_equal(ddb_projection_parse("#n, tags[1], #d", names, &p, &err), 0);
	ddb_projection_strip(&p, item);
	out = cJSON_PrintUnformatted(item);
	/* tags asked for through tags[1] is kept whole; "a.b" is not "a". */
	assert_string_equal(out, "{\"name\":{\"S\":\"a\"},\"tags\":{\"L\":[{\"S\":\"x\"},{\"S\":\"y\"}]},"
			    "\"a.b\":{\"N\":\"1\"}}");
	free(out);
	ddb_projection_cleanup(&p);
	/* No projection keeps everything; a non-object item is left alone. */
	ddb_projection_strip(&p, item);
	assert_int_equal(cJSON_GetArraySize(item), 3);
	assert_int_equal(ddb_projection_parse("x", NULL, &p, &err), 0);
	ddb_projection_strip(&p, NULL);
	ddb_projection_strip(&p, cJSON_GetObjectItem(cJSON_GetObjectItem(item, "tags"), "L"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(item, "tags"), "L")), 2);
	ddb_projection_strip(&p, item);
	assert_null(item->child);
	ddb_projection_cleanup(&p);
	cJSON_Delete(item);
	cJSON_Delete(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_condition_functions),
		cmocka_unit_test(test_condition_operators),
		cmocka_unit_test(test_condition_paths),
		cmocka_unit_test(test_updates),
		cmocka_unit_test(test_projections),
		cmocka_unit_test(test_placeholder_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_update_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_placeholders_used),
		cmocka_unit_test(test_callback_refusal),
		cmocka_unit_test(test_projection_parse),
		cmocka_unit_test(test_projection_extend),
		cmocka_unit_test(test_projection_strip),
	};
	return cmocka_run_group_tests_name("ddb_expr", tests, NULL, NULL);
}
