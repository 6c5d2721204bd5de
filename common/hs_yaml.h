/*
 * YAML documents (workflow files), read through libyaml into a small tree.
 *
 * A document is one node: a scalar, a sequence or a mapping. Every node
 * knows its 1-based line and column in the input (columns count Unicode
 * characters, a tab counts as one). Scalars keep their text and the style it
 * was written in; mappings keep their keys in document order. A tree is
 * owned by its root: hs_yaml_destroy(root) frees every node at once (they
 * all live in one hs_arena), and every pointer obtained from the tree dies
 * with it.
 *
 * What is accepted, on top of libyaml's YAML 1.1/1.2 grammar:
 *   - exactly one document; an input that holds no document at all (empty,
 *     or only whitespace and comments) is an empty mapping at 1:1, while
 *     "---" alone is a document holding a null scalar. A second document
 *     ("---" after content) is an error;
 *   - mapping keys are scalars, compared by their text ("1", '1' and 1 are
 *     the same key); a duplicate key is an error;
 *   - no anchors (&a) and no aliases (*a): both are rejected where they
 *     appear, so no input can expand to more than itself;
 *   - tags: only the standard !!str !!int !!float !!bool !!null !!seq !!map
 *     (tag:yaml.org,2002:...) and the non-specific "!", which makes a
 *     scalar a string. A tagged scalar must fit its tag (!!int "12" is the
 *     integer 12, !!int abc is an error);
 *   - scalars are UTF-8 without NUL characters ("\0" escapes are rejected),
 *     so scalar texts are plain C strings;
 *   - limits: at most HS_YAML_MAX_INPUT bytes of input, HS_YAML_MAX_NODES
 *     nodes (keys included), collections nested at most HS_MP_MAX_DEPTH
 *     deep (a top-level mapping has depth 1).
 *
 * JSON is YAML's flow style, so JSON documents parse to the same tree as
 * their YAML spelling (and hs_ynode_to_mpack gives the bytes that
 * hs_json_to_mpack gives, apart from duplicate keys, "\u0000" and integers
 * beyond int64, which this module rejects or turns into floats). Two libyaml
 * restrictions are worked around for JSON:
 *   - tabs: libyaml allows tabs between tokens inside flow collections and
 *     after "key:" or before a comment on a line, but not at the start of a
 *     line outside a flow collection (as indentation, or a line holding only
 *     tabs), nor right after a block "-". For a document whose first
 *     character is '{' or '[', tabs in the whitespace before it and after the
 *     document's last character are read as spaces, so JSON indented with
 *     tabs works. Block-style YAML must be indented with spaces;
 *   - "\uD83D\uDE00" surrogate-pair escapes (which libyaml refuses) are
 *     joined into one character, unless the input itself holds characters
 *     in U+E800..U+EFFF or the text "\uE" or "\U0000E" (escapes of
 *     U+E000..U+EFFF), which the joining borrows internally: then they stay
 *     an error, as lone surrogates always are. Only double-quoted scalars
 *     have escapes: elsewhere such text stays as written.
 * Other libyaml limits that JSON meets too: an implicit key ("key": or
 * key:) is at most 1024 characters long, quotes included; and libyaml
 * follows YAML 1.1 in treating U+0085, U+2028 and U+2029 as line breaks,
 * also inside quoted strings.
 *
 * Errors are HS_ERR_PARSE (syntax, duplicate key, key that is not a scalar,
 * a second document, NUL in a string, a scalar that does not fit its tag),
 * HS_ERR_UNSUPPORTED (anchor, alias, other tags), HS_ERR_RANGE (a number
 * that does not fit: a float beyond double, a hex or octal integer beyond
 * int64), HS_ERR_LIMIT, HS_ERR_NOMEM, HS_ERR_INVAL (NULL arguments). Every
 * error is described as "file:line:col: message" (without line and column
 * when the whole input is at fault, as for its size).
 *
 * Scalars are typed with the YAML 1.2 core schema (hs_yaml_resolve_plain).
 * Number parsing assumes the C locale for LC_NUMERIC.
 *
 * libyaml allocates with malloc directly: the hs_alloc failure hook reaches
 * this module's own allocations only.
 */
#ifndef HS_YAML_H
#define HS_YAML_H

#include "hs_buf.h"
#include "hs_mpack.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest input hs_yaml_parse accepts, in bytes. */
#define HS_YAML_MAX_INPUT (4u * 1024u * 1024u)
/* Largest number of nodes (scalars, keys included, and collections) of one document. */
#define HS_YAML_MAX_NODES 1000000u

typedef struct hs_ynode hs_ynode; /* opaque */

typedef enum hs_ykind {
    HS_YNODE_NONE, /* no node (what the accessors say of NULL) */
    HS_YNODE_SCALAR,
    HS_YNODE_SEQ,
    HS_YNODE_MAP,
} hs_ykind;

/* How a node was written. */
typedef enum hs_ystyle {
    HS_YSTYLE_PLAIN,   /* scalar: a bare word */
    HS_YSTYLE_SINGLE,  /* scalar: 'single-quoted' */
    HS_YSTYLE_DOUBLE,  /* scalar: "double-quoted" (JSON strings) */
    HS_YSTYLE_LITERAL, /* scalar: | block */
    HS_YSTYLE_FOLDED,  /* scalar: > block */
    HS_YSTYLE_BLOCK,   /* sequence or mapping in indented block style */
    HS_YSTYLE_FLOW,    /* sequence or mapping in [ ] or { } */
} hs_ystyle;

/* The value type of a scalar. */
typedef enum hs_ytype {
    HS_YTYPE_NONE, /* not a scalar */
    HS_YTYPE_NULL,
    HS_YTYPE_BOOL,
    HS_YTYPE_INT,
    HS_YTYPE_FLOAT,
    HS_YTYPE_STR,
} hs_ytype;

/* A typed scalar value. */
typedef struct hs_yscalar {
    hs_ytype type;
    union {
        bool b;    /* BOOL */
        int64_t i; /* INT */
        double f;  /* FLOAT */
    } u;
} hs_yscalar;

/*
 * Parses len bytes of text (borrowed, no NUL needed; UTF-8, a leading BOM is
 * skipped) holding one YAML or JSON document, and stores its root in *out.
 * filename (may be NULL: "<input>") is copied and only used in messages.
 * On failure *out is NULL, and err (may be NULL) is reset and receives the
 * message "file:line:col: message", which is also the hs_err_detail() of
 * the returned code; on success err is untouched. The caller frees the tree
 * with hs_yaml_destroy.
 */
int hs_yaml_parse(const char *text, size_t len, const char *filename, hs_ynode **out, hs_buf *err);

/* Frees the tree of a root returned by hs_yaml_parse; NULL-safe. Any other node is ignored. */
void hs_yaml_destroy(hs_ynode *root);

/*
 * Types a plain scalar with the YAML 1.2 core schema:
 *   null   "", ~, null, Null, NULL
 *   bool   true, True, TRUE, false, False, FALSE
 *   int    [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+ (decimal integers beyond
 *          int64 become the nearest float, as JSON integers do in hs_codec)
 *   float  [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?,
 *          [-+]?(.inf|.Inf|.INF), .nan|.NaN|.NAN
 *   str    anything else
 * Returns HS_OK, HS_ERR_RANGE for a float beyond double (type FLOAT, value
 * +-inf) or a hex/octal integer beyond int64 (type INT, value 0),
 * HS_ERR_NOMEM, or HS_ERR_INVAL for NULL arguments. s need not be
 * NUL-terminated.
 */
int hs_yaml_resolve_plain(const char *s, size_t len, hs_yscalar *out);

/*
 * Accessors. Each accepts any node, and NULL (for which they return
 * HS_YNODE_NONE, HS_YSTYLE_PLAIN, 0, NULL or HS_YTYPE_NONE), so that the
 * result of a lookup can be tested directly:
 *     hs_ynode_kind(hs_ynode_get(root, "plates")) == HS_YNODE_MAP
 */
hs_ykind hs_ynode_kind(const hs_ynode *n);
hs_ystyle hs_ynode_style(const hs_ynode *n);
unsigned hs_ynode_line(const hs_ynode *n); /* 1-based */
unsigned hs_ynode_col(const hs_ynode *n);  /* 1-based, in characters */
/* The file name given to hs_yaml_parse (for messages about the node). */
const char *hs_ynode_file(const hs_ynode *n);

/*
 * A scalar's text after unquoting and unescaping (NUL-terminated, no NUL
 * inside, owned by the tree); *len (may be NULL) receives its length.
 * NULL for sequences and mappings.
 */
const char *hs_ynode_text(const hs_ynode *n, size_t *len);

/*
 * A scalar's type: plain scalars as hs_yaml_resolve_plain says, quoted and
 * block scalars STR, tagged scalars their tag's type. NONE for collections.
 */
hs_ytype hs_ynode_type(const hs_ynode *n);

/* True for a scalar of type NULL. */
bool hs_ynode_is_null(const hs_ynode *n);

/*
 * Typed reads: HS_OK and the value, or HS_ERR_SCHEMA when n is not a scalar
 * of that type (*v untouched). hs_ynode_float also takes integers.
 */
int hs_ynode_bool(const hs_ynode *n, bool *v);
int hs_ynode_int(const hs_ynode *n, int64_t *v);
int hs_ynode_float(const hs_ynode *n, double *v);

/* Items of a sequence, pairs of a mapping; 0 for scalars. */
size_t hs_ynode_len(const hs_ynode *n);

/* Item i of a sequence; NULL when n is not a sequence or i is out of range. */
const hs_ynode *hs_ynode_item(const hs_ynode *n, size_t i);

/* Key / value of pair i of a mapping; NULL when n is not a mapping or i is out of range. */
const hs_ynode *hs_ynode_key(const hs_ynode *n, size_t i);
const hs_ynode *hs_ynode_value(const hs_ynode *n, size_t i);

/* The value under key (compared with the keys' texts, a linear search); NULL when absent. */
const hs_ynode *hs_ynode_get(const hs_ynode *map, const char *key);

/*
 * Appends the canonical msgpack encoding of the subtree at n (see
 * hs_codec.h): scalars by type (null nil, bool, int via hs_mp_put_int,
 * float as float64, .nan and .inf included, str), sequences as arrays,
 * mappings as maps keyed by the key texts, in document order. Fails only
 * when out does: HS_ERR_NOMEM or HS_ERR_LIMIT, with err (may be NULL)
 * reset to "file:line:col: message" naming the node being written; out is
 * then restored to its length before the call. HS_ERR_INVAL for NULL n/out.
 */
int hs_ynode_to_mpack(const hs_ynode *n, hs_buf *out, hs_buf *err);

/*
 * Appends the subtree at n as JSON text (through hs_ynode_to_mpack and
 * hs_json_from_mpack, so NaN and infinities become null). Errors as
 * hs_ynode_to_mpack, with the detail in hs_err_detail(); out is unchanged
 * on failure.
 */
int hs_ynode_to_json(const hs_ynode *n, hs_buf *out);

#endif
