// Package ceql parses and evaluates CEQL, the SQL-like `where` language of
// Cloud Elements (SAP Open Connectors) hub list calls, as in
//
//	GET /hubs/crm/contacts?where=updated_after_utc='2018-02-21 07:31:45'
//
// [Parse] turns an expression into an [Expr] tree, [Conjuncts] splits a
// top-level AND chain for pushing predicates down to a provider, and [Eval]
// evaluates what could not be pushed down against a fetched record.
//
// # Grammar
//
//	expr      := orExpr
//	orExpr    := andExpr { OR andExpr }
//	andExpr   := unary { AND unary }
//	unary     := "(" expr ")" | NOT unary | predicate
//	predicate := field cmp value
//	           | field [NOT] LIKE string
//	           | field [NOT] IN "(" value { "," value } ")"
//	           | field IS [NOT] NULL
//	cmp       := "=" | "!=" | "<>" | "<" | ">" | "<=" | ">="
//	field     := bareword | `backticked` | 'quoted' | "quoted"
//	value     := 'string' | "string" | number | true | false | date-time
//
// NOT binds tighter than AND, which binds tighter than OR. Keywords are
// case-insensitive ASCII; a field named like a keyword must be backticked.
// A bareword is letters, digits, _ . and -, starting with a letter or _. A
// backticked field may contain anything but a backtick. Quoted strings
// double their quote character to include it, and backslash has no special
// meaning in them:
//
//	LAST_NAME = 'O''Brien'
//
// Numbers are decimal (-12, 3.5, 1e3). An
// unquoted date (2015-01-06) or date-time (2015-01-06T09:31:38-07:00,
// 2018-01-15T00:00:00.000Z) is a string value; one with a space
// (2018-02-21 07:31:45) must be quoted. NOT, IS NOT NULL, NOT LIKE, NOT IN,
// IN lists, "double-quoted" strings, `<>` and quote doubling are extensions:
// CE documents the operators but not these forms.
//
// Whitespace is required only between adjacent words and numbers; quotes,
// parentheses, commas and operators delimit themselves (`a='b'AND c=1` is
// accepted, `a=1AND c=1` is a malformed number).
//
// Inputs longer than [MaxLength] bytes, nested deeper than [MaxDepth], or
// not valid UTF-8 are rejected. Syntax errors are *[Error] values with a
// byte offset and a caret [Error.Snippet].
//
// See [Eval] for the evaluation semantics: SQL-like NULLs and three-valued
// logic, case-insensitive string comparison and LIKE, numeric coercion of
// numeric-looking strings, and date-aware comparison of ISO timestamps.
package ceql
