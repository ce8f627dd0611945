package sqlscan

import (
	"slices"
	"strings"
)

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
	kwChanges
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
	kwQualify
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

// sparkKeywords is the keyword list of the SQL lexer of Spark 4.3, the
// version sdp-mcp pins (TEMP and REGEXP are alternative spellings of
// TEMPORARY and RLIKE). Spark 4.1 has a subset of these; a word that is a
// keyword only in a newer version is still an identifier to the scanner
// where it matters, because keywords are accepted as names.
const sparkKeywords = `ADD AFTER AGGREGATE ALIGN ALL ALTER ALWAYS ANALYZE AND ANTI ANY ANY_VALUE APPLY APPROX ARCHIVE
ARRAY AS ASC ASENSITIVE ASOF AT ATOMIC AUTHORIZATION AUTO BEGIN BERNOULLI BETWEEN BIGINT BIN
BINARY BINDING BIN_DISTRIBUTE_RATIO BIN_END BIN_START BOOLEAN BOTH BUCKET BUCKETS BY BYTE CACHE
CALL CALLED CASCADE CASE CAST CATALOG CATALOGS CDC CHANGE CHANGES CHAR CHARACTER CHECK CLEAR
CLOSE CLUSTER CLUSTERED CODEGEN COLLATE COLLATION COLLATIONS COLLECTION COLUMN COLUMNS COMMENT
COMMIT COMPACT COMPACTIONS COMPENSATION COMPUTE CONCATENATE CONDITION CONSTRAINT CONTAINS
CONTINUE COST CREATE CROSS CUBE CURRENT CURRENT_DATABASE CURRENT_DATE CURRENT_PATH
CURRENT_SCHEMA CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATA DATABASE DATABASES DATE
DATEADD DATEDIFF DATE_ADD DATE_DIFF DAY DAYOFYEAR DAYS DBPROPERTIES DEC DECIMAL DECLARE DEFAULT
DEFAULT_PATH DEFINED DEFINER DELAY DELETE DELIMITED DESC DESCRIBE DETERMINISTIC DFS DIRECTORIES
DIRECTORY DISTANCE DISTINCT DISTRIBUTE DIV DO DOUBLE DROP ELSE ELSEIF END ENFORCED ERROR ESCAPE
ESCAPED EVOLUTION EXACT EXCEPT EXCHANGE EXCLUDE EXCLUSIVE EXECUTE EXISTS EXIT EXPLAIN EXPORT
EXTEND EXTENDED EXTERNAL EXTRACT FALSE FETCH FIELDS FILEFORMAT FILTER FIRST FLOAT FLOW
FOLLOWING FOR FOREIGN FORMAT FORMATTED FOUND FROM FULL FUNCTION FUNCTIONS GENERATED GEOGRAPHY
GEOMETRY GLOBAL GRANT GROUP GROUPING HANDLER HAVING HISTORY HOUR HOURS IDENTIFIED IDENTIFIER
IDENTITY IF IGNORE ILIKE IMMEDIATE IMPORT IN INCLUDE INCLUSIVE INCREMENT INDEX INDEXES INNER
INPATH INPUT INPUTFORMAT INSENSITIVE INSERT INT INTEGER INTERSECT INTERVAL INTO INVOKER IS
ITEMS ITERATE JOIN JSON JSON_TABLE KEY KEYS LANGUAGE LAST LATERAL LAZY LEADING LEAVE LEFT LEVEL
LIKE LIMIT LINES LIST LOAD LOCAL LOCALTIME LOCATION LOCK LOCKS LOGICAL LONG LOOP MACRO MAP
MATCHED MATCH_CONDITION MATERIALIZED MAX MEASURE MERGE METRICS MICROSECOND MICROSECONDS
MILLISECOND MILLISECONDS MINUS MINUTE MINUTES MODIFIES MONTH MONTHS MSCK NAME NAMESPACE
NAMESPACES NANOSECOND NANOSECONDS NATURAL NEAREST NEXT NO NONE NORELY NOT NULL NULLS NUMERIC OF
OFFSET ON ONLY OPEN OPTION OPTIONS OR ORDER ORDINALITY OUT OUTER OUTPUTFORMAT OVER OVERLAPS
OVERLAY OVERWRITE PARTITION PARTITIONED PARTITIONS PATH PERCENT PIVOT PLACING POSITION
PRECEDING PRIMARY PRINCIPALS PROCEDURE PROCEDURES PROPERTIES PURGE QUALIFY QUARTER QUERY RANGE
READ READS REAL RECORDREADER RECORDWRITER RECOVER RECURSION RECURSIVE REDUCE REFERENCES REFRESH
REGEXP RELY RENAME REPAIR REPEAT REPEATABLE REPLACE RESET RESPECT RESTRICT RETURN RETURNS
REVOKE RIGHT RLIKE ROLE ROLES ROLLBACK ROLLUP ROW ROWS SCD SCHEMA SCHEMAS SECOND SECONDS
SECURITY SELECT SEMI SEPARATED SEQUENCE SERDE SERDEPROPERTIES SESSION_USER SET SETS SHORT SHOW
SIMILARITY SINGLE SKEWED SMALLINT SOME SORT SORTED SOURCE SPECIFIC SQL SQLEXCEPTION SQLSTATE
START STATISTICS STORED STRATIFY STREAM STREAMING STRING STRUCT SUBSTR SUBSTRING SYNC SYSTEM
SYSTEM_PATH SYSTEM_TIME SYSTEM_VERSION TABLE TABLES TABLESAMPLE TARGET TBLPROPERTIES TEMP
TEMPORARY TERMINATED THEN TIME TIMEDIFF TIMESTAMP TIMESTAMPADD TIMESTAMPDIFF TIMESTAMP_LTZ
TIMESTAMP_NTZ TINYINT TO TOUCH TRACK TRAILING TRANSACTION TRANSACTIONS TRANSFORM TRIM TRUE
TRUNCATE TRY_CAST TYPE UNARCHIVE UNBOUNDED UNCACHE UNIFORM UNION UNIQUE UNKNOWN UNLOCK UNNEST
UNPIVOT UNSET UNTIL UPDATE USE USER USING VALUE VALUES VAR VARCHAR VARIABLE VARIANT VERSION
VIEW VIEWS VOID WATERMARK WEEK WEEKS WHEN WHERE WHILE WIDTH WINDOW WITH WITHIN WITHOUT X YEAR
YEARS ZONE`

var structuralKeywords = map[string]kw{
	"ALL": kwAll, "CHANGES": kwChanges, "QUALIFY": kwQualify, "AND": kwAnd, "ANTI": kwAnti, "ANY": kwAny, "ARRAY": kwArray, "AS": kwAs,
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

// kwEntry is one keyword: its upper-case spelling and its kw.
type kwEntry struct {
	word string
	k    kw
}

// keywordList holds every keyword in alphabetical order after an empty entry
// at index 0, so that a token's keyword is one index (Token.key) and 0 means
// none. Built once; never modified afterwards.
var keywordList = func() []kwEntry {
	words := strings.Fields(sparkKeywords)
	slices.Sort(words)
	words = slices.Compact(words)
	l := make([]kwEntry, 1, len(words)+1)
	for _, w := range words {
		k, ok := structuralKeywords[w]
		if !ok {
			k = kwOther
		}
		l = append(l, kwEntry{w, k})
	}
	if len(l) > 1<<16 {
		panic("sqlscan: too many keywords for a uint16 key")
	}
	return l
}()

// kwHashSize is the size of the open-addressing keyword table; a power of
// two comfortably above the number of keywords.
const kwHashSize = 2048

// kwHash maps fnv1a of an upper-case keyword to its index in keywordList,
// with linear probing (0 ends a probe), so that lookups need no map hashing
// of a converted string. Built once; never modified afterwards.
var kwHash = func() *[kwHashSize]uint16 {
	var t [kwHashSize]uint16
	for i := 1; i < len(keywordList); i++ {
		w := keywordList[i].word
		h := uint32(fnvOffset)
		for j := 0; j < len(w); j++ {
			h = (h ^ uint32(w[j])) * fnvPrime
		}
		for j := h & (kwHashSize - 1); ; j = (j + 1) & (kwHashSize - 1) {
			if t[j] == 0 {
				t[j] = uint16(i)
				break
			}
		}
	}
	return &t
}()

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

// keywordShape[len][first] has bit last set when some keyword of that length
// starts with letter first and ends with letter last ('_' is 26): a cheap
// test that rejects most identifiers before hashing. Built once.
var keywordShape = func() *[maxKeywordLen + 1][27]uint32 {
	var f [maxKeywordLen + 1][27]uint32
	for _, e := range keywordList[1:] {
		w := e.word
		f[len(w)][letterIndex(w[0])] |= 1 << letterIndex(w[len(w)-1])
	}
	return &f
}()

func letterIndex(c byte) int {
	if c == '_' {
		return 26
	}
	return int(c - 'A')
}

// maxKeywordLen is the length of the longest keyword (BIN_DISTRIBUTE_RATIO).
const maxKeywordLen = 20

// IsKeyword reports whether word is one of Spark's SQL keywords, compared
// after Spark's upper-casing (so "ſelect" is SELECT).
func IsKeyword(word string) bool {
	return lookupKeyword(word) != 0
}

// lookupASCIIKeyword is lookupKeyword for a word known to be ASCII: most
// identifiers are rejected by their length and first and last letters
// before any hashing, and the rest are hashed in place.
func lookupASCIIKeyword(word string) uint16 {
	n := len(word)
	if n == 0 || n > maxKeywordLen || !isASCIILetter(word[0]) {
		return 0 // every keyword starts with a letter
	}
	c0, cl := word[0], word[n-1]
	li := 26
	if cl != '_' {
		if !isASCIILetter(cl) {
			return 0
		}
		li = int(cl|0x20) - 'a'
	}
	if keywordShape[n][int(c0|0x20)-'a']&(1<<li) == 0 {
		return 0
	}
	h := uint32(fnvOffset)
	for i := 0; i < n; i++ {
		c := word[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		h = (h ^ uint32(c)) * fnvPrime
	}
	for j := h & (kwHashSize - 1); ; j = (j + 1) & (kwHashSize - 1) {
		key := kwHash[j]
		if key == 0 {
			return 0
		}
		if w := keywordList[key].word; len(w) == n && equalFoldASCII(w, word) {
			return key
		}
	}
}

// equalFoldASCII reports whether the upper-case keyword kw equals the ASCII
// word s of the same length, ignoring the case of s.
func equalFoldASCII(kw, s string) bool {
	for i := 0; i < len(kw); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	return true
}

// lookupKeyword returns the index in keywordList of the keyword word, or 0
// when word is not a keyword. It upper-cases like Spark's lexer (per code
// point), without allocating. Keywords consist of A-Z and '_' only.
func lookupKeyword(word string) uint16 {
	if len(word) > 2*maxKeywordLen || len(word) == 0 {
		return 0
	}
	var buf [maxKeywordLen]byte
	n := 0
	h := uint32(fnvOffset)
	for i := 0; i < len(word); {
		c := word[i]
		if c < 0x80 {
			i++
		} else {
			r, w := decodeRune(word[i:])
			i += w
			r = upper(r)
			if r >= 0x80 {
				return 0
			}
			c = byte(r)
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		} else if (c < 'A' || c > 'Z') && c != '_' {
			return 0
		}
		if n == len(buf) {
			return 0
		}
		buf[n] = c
		n++
		h = (h ^ uint32(c)) * fnvPrime
	}
	for j := h & (kwHashSize - 1); ; j = (j + 1) & (kwHashSize - 1) {
		key := kwHash[j]
		if key == 0 {
			return 0
		}
		if keywordList[key].word == string(buf[:n]) {
			return key
		}
	}
}
