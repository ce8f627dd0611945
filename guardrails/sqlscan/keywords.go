package sqlscan

import "strings"

// kw identifies a keyword the scanner gives structure to. Keywords the
// scanner treats like any other word share kwOther; words that are not
// keywords are kwNone.
type kw uint8

const (
	kwNone kw = iota
	kwOther
	kwAll
	kwAnd
	kwAnti
	kwAny
	kwArray
	kwAs
	kwAsc
	kwBetween
	kwBy
	kwCase
	kwCast
	kwCluster
	kwCross
	kwCube
	kwDelay
	kwDesc
	kwDistinct
	kwDistribute
	kwDiv
	kwElse
	kwEnd
	kwEscape
	kwExcept
	kwExists
	kwExtract
	kwFilter
	kwFor
	kwFrom
	kwFull
	kwGroup
	kwHaving
	kwIdentifier
	kwIgnore
	kwIlike
	kwIn
	kwInner
	kwInsert
	kwIntersect
	kwInterval
	kwInto
	kwIs
	kwJoin
	kwLateral
	kwLeft
	kwLevel
	kwLike
	kwLimit
	kwMap
	kwMax
	kwMinus
	kwNatural
	kwNot
	kwNulls
	kwOf
	kwOffset
	kwOn
	kwOr
	kwOrder
	kwOuter
	kwOver
	kwOverlay
	kwPartition
	kwPivot
	kwPosition
	kwRecursion
	kwRecursive
	kwReduce
	kwRepeatable
	kwRespect
	kwRight
	kwRlike
	kwRollup
	kwSelect
	kwSemi
	kwSets
	kwSome
	kwSort
	kwStream
	kwStruct
	kwSubstr
	kwSubstring
	kwSystemTime
	kwSystemVersion
	kwTable
	kwTablesample
	kwThen
	kwTimestamp
	kwTransform
	kwTrim
	kwTryCast
	kwUnion
	kwUnpivot
	kwUsing
	kwValues
	kwVersion
	kwView
	kwWatermark
	kwWhen
	kwWhere
	kwWindow
	kwWith
	kwWithin
	kwCount // number of kw values; keep last
)

// sparkKeywords is the keyword list of Spark 4.1's SQL lexer (TEMP and
// REGEXP are alternative spellings of TEMPORARY and RLIKE).
const sparkKeywords = `ADD AFTER AGGREGATE ALL ALTER ALWAYS ANALYZE AND ANTI ANY ANY_VALUE ARCHIVE
ARRAY AS ASC AT ATOMIC AUTHORIZATION BEGIN BETWEEN BIGINT BINARY BINDING BOOLEAN BOTH BUCKET
BUCKETS BY BYTE CACHE CALL CALLED CASCADE CASE CAST CATALOG CATALOGS CHANGE CHAR CHARACTER CHECK
CLEAR CLUSTER CLUSTERED CODEGEN COLLATE COLLATION COLLECTION COLUMN COLUMNS COMMENT COMMIT COMPACT
COMPACTIONS COMPENSATION COMPUTE CONCATENATE CONDITION CONSTRAINT CONTAINS CONTINUE COST CREATE
CROSS CUBE CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DAY DAYS DAYOFYEAR
DATA DATE DATABASE DATABASES DATEADD DATE_ADD DATEDIFF DATE_DIFF DBPROPERTIES DEC DECIMAL DECLARE
DEFAULT DEFINED DEFINER DELAY DELETE DELIMITED DESC DESCRIBE DETERMINISTIC DFS DIRECTORIES
DIRECTORY DISTINCT DISTRIBUTE DIV DO DOUBLE DROP ELSE ELSEIF END ENFORCED ESCAPE ESCAPED EVOLUTION
EXCEPT EXCHANGE EXCLUDE EXISTS EXIT EXPLAIN EXPORT EXTEND EXTENDED EXTERNAL EXTRACT FALSE FETCH
FIELDS FILTER FILEFORMAT FIRST FLOAT FLOW FOLLOWING FOR FOREIGN FORMAT FORMATTED FOUND FROM FULL
FUNCTION FUNCTIONS GENERATED GEOGRAPHY GEOMETRY GLOBAL GRANT GROUP GROUPING HANDLER HAVING X HOUR
HOURS IDENTIFIER IDENTITY IF IGNORE IMMEDIATE IMPORT IN INCLUDE INCREMENT INDEX INDEXES INNER
INPATH INPUT INPUTFORMAT INSERT INTERSECT INTERVAL INT INTEGER INTO INVOKER IS ITEMS ITERATE JOIN
JSON KEY KEYS LANGUAGE LAST LATERAL LAZY LEADING LEAVE LEFT LEVEL LIKE ILIKE LIMIT LINES LIST LOAD
LOCAL LOCATION LOCK LOCKS LOGICAL LONG LOOP MACRO MAP MATCHED MATERIALIZED MAX MERGE MICROSECOND
MICROSECONDS MILLISECOND MILLISECONDS MINUTE MINUTES MODIFIES MONTH MONTHS MSCK NAME NAMESPACE
NAMESPACES NANOSECOND NANOSECONDS NATURAL NO NONE NOT NULL NULLS NUMERIC NORELY OF OFFSET ON ONLY
OPTION OPTIONS OR ORDER OUT OUTER OUTPUTFORMAT OVER OVERLAPS OVERLAY OVERWRITE PARTITION
PARTITIONED PARTITIONS PERCENT PIVOT PLACING POSITION PRECEDING PRIMARY PRINCIPALS PROCEDURE
PROCEDURES PROPERTIES PURGE QUARTER QUERY RANGE READS REAL RECORDREADER RECORDWRITER RECOVER
RECURSION RECURSIVE REDUCE REFERENCES REFRESH RELY RENAME REPAIR REPEAT REPEATABLE REPLACE RESET
RESPECT RESTRICT RETURN RETURNS REVOKE RIGHT RLIKE REGEXP ROLE ROLES ROLLBACK ROLLUP ROW ROWS
SECOND SECONDS SCHEMA SCHEMAS SECURITY SELECT SEMI SEPARATED SERDE SERDEPROPERTIES SESSION_USER
SET MINUS SETS SHORT SHOW SINGLE SKEWED SMALLINT SOME SORT SORTED SOURCE SPECIFIC SQL SQLEXCEPTION
SQLSTATE START STATISTICS STORED STRATIFY STREAM STREAMING STRING STRUCT SUBSTR SUBSTRING SYNC
SYSTEM_TIME SYSTEM_VERSION TABLE TABLES TABLESAMPLE TARGET TBLPROPERTIES TEMPORARY TEMP TERMINATED
THEN TIME TIMEDIFF TIMESTAMP TIMESTAMP_LTZ TIMESTAMP_NTZ TIMESTAMPADD TIMESTAMPDIFF TINYINT TO
EXECUTE TOUCH TRAILING TRANSACTION TRANSACTIONS TRANSFORM TRIM TRUE TRUNCATE TRY_CAST TYPE
UNARCHIVE UNBOUNDED UNCACHE UNION UNIQUE UNKNOWN UNLOCK UNPIVOT UNSET UNTIL UPDATE USE USER USING
VALUE VALUES VARCHAR VAR VARIABLE VARIANT VERSION VIEW VIEWS VOID WATERMARK WEEK WEEKS WHEN WHERE
WHILE WINDOW WITH WITHIN WITHOUT YEAR YEARS ZONE`

var structuralKeywords = map[string]kw{
	"ALL": kwAll, "AND": kwAnd, "ANTI": kwAnti, "ANY": kwAny, "ARRAY": kwArray, "AS": kwAs,
	"ASC": kwAsc, "BETWEEN": kwBetween, "BY": kwBy, "CASE": kwCase, "CAST": kwCast,
	"CLUSTER": kwCluster, "CROSS": kwCross, "CUBE": kwCube, "DELAY": kwDelay, "DESC": kwDesc,
	"DISTINCT": kwDistinct, "DISTRIBUTE": kwDistribute, "DIV": kwDiv, "ELSE": kwElse,
	"END": kwEnd, "ESCAPE": kwEscape, "EXCEPT": kwExcept, "EXISTS": kwExists,
	"EXTRACT": kwExtract, "FILTER": kwFilter, "FOR": kwFor, "FROM": kwFrom, "FULL": kwFull,
	"GROUP": kwGroup, "HAVING": kwHaving, "IDENTIFIER": kwIdentifier, "IGNORE": kwIgnore,
	"ILIKE": kwIlike, "IN": kwIn, "INNER": kwInner, "INSERT": kwInsert,
	"INTERSECT": kwIntersect, "INTERVAL": kwInterval, "INTO": kwInto, "IS": kwIs,
	"JOIN": kwJoin, "LATERAL": kwLateral, "LEFT": kwLeft, "LEVEL": kwLevel, "LIKE": kwLike,
	"LIMIT": kwLimit, "MAP": kwMap, "MAX": kwMax, "MINUS": kwMinus, "NATURAL": kwNatural,
	"NOT": kwNot, "NULLS": kwNulls, "OF": kwOf, "OFFSET": kwOffset, "ON": kwOn, "OR": kwOr,
	"ORDER": kwOrder, "OUTER": kwOuter, "OVER": kwOver, "OVERLAY": kwOverlay,
	"PARTITION": kwPartition, "PIVOT": kwPivot, "POSITION": kwPosition,
	"RECURSION": kwRecursion, "RECURSIVE": kwRecursive, "REDUCE": kwReduce,
	"REPEATABLE": kwRepeatable, "RESPECT": kwRespect, "RIGHT": kwRight, "RLIKE": kwRlike,
	"REGEXP": kwRlike, "ROLLUP": kwRollup, "SELECT": kwSelect, "SEMI": kwSemi, "SETS": kwSets,
	"SOME": kwSome, "SORT": kwSort, "STREAM": kwStream, "STRUCT": kwStruct,
	"SUBSTR": kwSubstr, "SUBSTRING": kwSubstring, "SYSTEM_TIME": kwSystemTime,
	"SYSTEM_VERSION": kwSystemVersion, "TABLE": kwTable, "TABLESAMPLE": kwTablesample,
	"THEN": kwThen, "TIMESTAMP": kwTimestamp, "TRANSFORM": kwTransform, "TRIM": kwTrim,
	"TRY_CAST": kwTryCast, "UNION": kwUnion, "UNPIVOT": kwUnpivot, "USING": kwUsing,
	"VALUES": kwValues, "VERSION": kwVersion, "VIEW": kwView, "WATERMARK": kwWatermark,
	"WHEN": kwWhen, "WHERE": kwWhere, "WINDOW": kwWindow, "WITH": kwWith, "WITHIN": kwWithin,
}

// keywordTable maps every upper-case keyword to its kw (kwOther for the
// keywords without structure). Built once; never modified afterwards.
var keywordTable = func() map[string]kw {
	m := make(map[string]kw, 512)
	for _, w := range strings.Fields(sparkKeywords) {
		m[w] = kwOther
	}
	for w, k := range structuralKeywords {
		m[w] = k // TestStructuralKeywordsAreKeywords keeps these inside the list
	}
	return m
}()

// kwHashSize is the size of the open-addressing keyword table; a power of
// two comfortably above the number of keywords.
const kwHashSize = 2048

type kwEntry struct {
	word string
	k    kw
}

// kwHash is keywordTable as an open-addressing hash table keyed by fnv1a of
// the upper-case word, so that lookups need no map hashing of a converted
// string. Built once; never modified afterwards.
var kwHash = func() *[kwHashSize]kwEntry {
	var t [kwHashSize]kwEntry
	for w, k := range keywordTable {
		h := uint32(2166136261)
		for i := 0; i < len(w); i++ {
			h = (h ^ uint32(w[i])) * 16777619
		}
		for j := h & (kwHashSize - 1); ; j = (j + 1) & (kwHashSize - 1) {
			if t[j].word == "" {
				t[j] = kwEntry{w, k}
				break
			}
		}
	}
	return &t
}()

// maxKeywordLen is the length of the longest keyword (CURRENT_TIMESTAMP).
const maxKeywordLen = 17

// IsKeyword reports whether word is one of Spark's SQL keywords, compared
// after Spark's upper-casing (so "ſelect" is SELECT).
func IsKeyword(word string) bool {
	return lookupKeyword(word) != kwNone
}

// lookupKeyword returns the kw of word, or kwNone when word is not a keyword.
// It upper-cases like Spark's lexer (per code point), without allocating.
// Keywords consist of A-Z and '_' only.
func lookupKeyword(word string) kw {
	if len(word) > 2*maxKeywordLen {
		return kwNone
	}
	var buf [maxKeywordLen]byte
	n := 0
	h := uint32(2166136261)
	for i := 0; i < len(word); {
		c := word[i]
		if c < 0x80 {
			i++
		} else {
			r, w := decodeRune(word[i:])
			i += w
			r = upper(r)
			if r >= 0x80 {
				return kwNone
			}
			c = byte(r)
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		} else if (c < 'A' || c > 'Z') && c != '_' {
			return kwNone
		}
		if n == len(buf) {
			return kwNone
		}
		buf[n] = c
		n++
		h = (h ^ uint32(c)) * 16777619
	}
	for j := h & (kwHashSize - 1); ; j = (j + 1) & (kwHashSize - 1) {
		e := &kwHash[j]
		if e.word == "" {
			return kwNone
		}
		if e.word == string(buf[:n]) {
			return e.k
		}
	}
}
