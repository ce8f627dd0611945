// Package sqlscan tokenizes Spark SQL query bodies the way Spark's own lexer
// does and scans the tokens for the relations they read and the functions
// they call. It is the static, pre-Spark layer of the SQL guard: nothing it
// looks at is sent anywhere.
//
// # What it owns
//
// [Tokenize] mirrors the SQL lexer of Spark 4.3 (the version sdp-mcp pins;
// it is a superset of 4.1's) in its default settings
// (spark.sql.ansi.doubleQuotedIdentifiers=false, reserved keywords not
// enforced). Its token boundaries were checked against Spark 4.3's own lexer
// on thousands of generated inputs. It mirrors:
//
//   - Spark upper-cases every code point before matching, so "ſet" (U+017F)
//     is the keyword SET and "ınsert" (U+0131) is INSERT; keyword
//     classification here does the same.
//   - Whitespace is Spark's set, which includes U+00A0 and U+2000–U+200A but
//     not U+0085 or U+2029; other unrecognised characters become [Invalid]
//     tokens, as Spark's UNRECOGNIZED.
//   - Strings are '…' and "…" with backslash escapes and doubled quotes, raw
//     R'…' / R"…" that end at the next quote (so r'\' is complete), and
//     dollar-quoted $tag$…$tag$ (4.2+; the tag is letters only).
//   - Identifiers may start with a digit; `…` quotes, a doubled backquote
//     standing for one; letters "://" path is one unquoted identifier ([URIIdent]),
//     so text.file:///etc/passwd names a file without any quoting.
//   - "--" comments continue over a backslash-newline; "/* */" comments nest;
//     "/*+" starts a hint, which is code to Spark and one [Hint] token here.
//   - Numbers follow Spark's longest-match rules, including the check that a
//     decimal literal is not followed by a letter, digit or '_'.
//   - "?" and ":name" are [Param] tokens, "${…}" is a [Variable] token, "@"
//     and "@v" are operators (4.3's time-travel shorthand t@v12).
//
// [Scan] walks the tokens with a structural scanner, not a full parser. It
// finds relations after FROM, every JOIN form, commas in a FROM list, LATERAL,
// STREAM x / STREAM(x), TABLE x (also inside table-function arguments),
// pipe-syntax |> JOIN and Hive-style leading FROM, in subqueries at any depth
// (IN, EXISTS, scalar subqueries, set operations, CTE bodies). It resolves
// single-part names against the CTEs in scope (a WITH's names are visible
// from their definition, or inside it when RECURSIVE, to the end of the
// enclosing parentheses) and skips aliases, column lists, TABLESAMPLE,
// WATERMARK, time travel (AS OF and @), CHANGES FROM and options clauses
// while flagging the last three. IDENTIFIER('a.b') names are resolved as
// Spark does at parse time. Relation extraction was checked against the
// relations in Spark 4.3's parsed plans for over a thousand generated
// queries (joins of every kind, subqueries, CTEs, set operations, pipes). It
// knows the places where FROM is not a relation: EXTRACT, TRIM, SUBSTRING,
// SUBSTR and OVERLAY arguments and IS [NOT] DISTINCT FROM. Where it cannot
// tell, it reports a relation too many rather than one too few; for example
// a keyword in a relation position (FROM where) is reported as a relation
// named after the keyword.
//
// [Scanner] is Scan with memory reused between calls, for callers that check
// many bodies and do not keep the tokens.
//
// # What it cannot see
//
// The scanner works on text, so it cannot know:
//
//   - what a name resolves to: a view that reads other tables, a temporary
//     view or a table shadowing another, a function that is a catalog UDF
//     rather than a built-in, or a name that Spark resolves case-sensitively
//     (CTE matching here is case-insensitive, as with Spark's default
//     spark.sql.caseSensitive=false);
//   - what IDENTIFIER(expr) evaluates to (reported as a Dynamic relation or a
//     call to IDENTIFIER);
//   - whether the text parses at all: invalid SQL still yields a best-effort
//     result, and Spark's grammar, not this package, is what confines a body
//     to a query;
//   - text substituted before parsing (${…} variables are only flagged), or
//     session settings that change lexing (doubleQuotedIdentifiers=true makes
//     "…" an identifier, legacy keyword and set-operation modes);
//   - ":" followed by whitespace and a name, which Spark may read as a named
//     parameter marker;
//   - the contents of hints, which are kept as one opaque token;
//   - a call to a function whose name is a clause keyword (where(x), over(x)):
//     such words are read as structure, so a catalog function named like
//     that is not listed (built-ins with such names are harmless);
//   - whether STREAM names a CTE: STREAM reads are always reported.
//
// It is therefore an early-reject and explanation layer. Allow-listing must
// also be enforced where Spark resolves names: on the analyzed plan, by
// session configuration and by catalog privileges.
package sqlscan
