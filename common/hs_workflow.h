/*
 * Workflows: the parsed and validated form of a workflow file (YAML or
 * JSON, DESIGN.md section 3 and schemas/workflow.json), and its expansion
 * into units of work.
 *
 * Model (HyperStream's): a node is a set of streams with one name, one per
 * value of its plates; a factor computes its sink node from its source
 * nodes with a tool; plates are sets of meta-data values, nested through
 * parents (house -> room). A unit is one factor at one plate value, with
 * every stream id resolved: the scheduler computes units over intervals.
 *
 * Nodes that no factor produces are inputs (raw streams). Unless declared
 * under `inputs:` with their plates, an input lives on the plates of the
 * factor that reads it.
 */
#ifndef HS_WORKFLOW_H
#define HS_WORKFLOW_H

#include "hs_buf.h"
#include "hs_interval.h"
#include "hs_meta.h"
#include "hs_streamid.h"
#include "hs_tool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A plate value: meta-data pairs including the ancestors' (sorted by key). */
typedef struct hs_pv {
    hs_meta_pair *pairs; /* owned */
    size_t n;
    char *text; /* owned "house=1/room=kitchen", "" for the global value */
} hs_pv;

/*
 * A plate. Its values, below each value of its parent plate, come from one
 * of three places (docs/MODEL.md section 1, ARCHITECTURE.md "Plates"):
 * - a plate-creation factor (dynamic), plus any values listed;
 * - the listed values, below every parent value;
 * - otherwise the meta-data tree: the nodes tagged with its key whose
 *   parent is the parent value (at the root without a parent plate).
 * `match` (a glob) keeps only the values that match it.
 * A product plate (a node on several plates, `plates: [T, V]`) has no key
 * of its own: its values join its members' values on the keys they share.
 */
typedef struct hs_wf_plate {
    char *id;       /* "H.R"; a product plate's is "[T, V]" */
    char *meta;     /* meta-data key: "room"; NULL for a product plate */
    char *parent;   /* parent plate id or NULL */
    int parent_idx; /* index of the parent or -1 */
    char **values;  /* declared values */
    size_t nvalues;
    bool listed;  /* values: is given (even empty): the plate never reads the tree */
    char *match;  /* glob a tree value must match, or NULL */
    bool grow;    /* grow: from_data: raw data of an input on it adds its value to the tree */
    bool dynamic; /* values are created by a plate-creation factor */
    int *members; /* product plate: its plates (owned), else NULL */
    size_t nmembers;
    int line;
} hs_wf_plate;

typedef struct hs_wf_factor {
    int line;
    char *tool;
    char *version;   /* requested "major.minor", or NULL: whatever the runtime has */
    uint8_t *params; /* canonical msgpack map (may be an empty map) */
    size_t params_len;
    char *params_json; /* the same as canonical JSON */
    char **sources;    /* source node names */
    size_t nsources;
    char *sink;         /* sink node name; NULL for plate creation */
    int sink_plate;     /* plate index of the sink, -1 when global */
    char *over;         /* aggregate: the meta-data key aggregated over */
    char *alignment;    /* alignment node, or NULL */
    char *splitting;    /* splitting node, or NULL */
    char *output_plate; /* plate creation: the plate whose values it creates */
    int output_plate_idx;
    /*
     * The plate whose values the factor's main source is read on: the sink
     * plate (plain), the parent of the output plate (multi-output, plate
     * creation), the plate whose keys are the sink's and `over` (aggregate,
     * selector: any level of the sink's ancestry, docs/MODEL.md section 3).
     */
    int in_plate;
    int64_t lookback_us;    /* data before a job's interval that the tool reads */
    const hs_tool_def *def; /* borrowed from the registry */
    char *binding;          /* owned JSON: tool, major.minor, params, sources' bindings */
    char hash[17];          /* hash of binding */
} hs_wf_factor;

typedef struct hs_workflow {
    char *id;
    char *name, *owner, *description;
    bool online;
    int64_t every_us;
    hs_rel_interval window;
    int64_t lateness_us;     /* online: delay of an interval's first computation (0: none) */
    int64_t max_lateness_us; /* online: older data reopens nothing (0: unbounded) */
    int64_t job_span_us;     /* longest job interval (default 1 day) */
    hs_wf_plate *plates;
    size_t nplates;
    hs_wf_factor *factors;
    size_t nfactors;
    size_t *order;      /* factor indices in dependency order */
    char **input_names; /* declared inputs */
    int *input_plates;  /* their plate (-1 global) */
    size_t ninputs;
    /*
     * Input schemas (`schemas:`, docs/SCHEMAS.md): the validated list
     * [{stream, schema}, ...] as msgpack (owned; NULL when there are none),
     * which the scheduler hands to ingest (hs_proto_schemas_from_list).
     */
    uint8_t *schemas_mp;
    size_t schemas_len;
    size_t nschemas;
    char *text; /* the definition as given */
    /* Values of dynamic plates, by "<parent value text>" -> list of values. */
    struct hs_wf_dyn *dyn;
    size_t ndyn;
    /* The `meta:` block: the tree nodes the file declares (owned; empty without one). */
    hs_meta_tree *meta;
    /* The tree plates select from (borrowed): the stack's, or NULL for the file's own. */
    const hs_meta_tree *tree;
} hs_workflow;

/*
 * Parses and validates a workflow definition. Every problem found is
 * appended to errors as "file:line: message" (one per line) and the result
 * is HS_ERR_SCHEMA; on success *out is the workflow (destroy it).
 */
int hs_workflow_parse(const char *text, size_t len, const char *filename,
                      const hs_tool_registry *tools, hs_workflow **out, hs_buf *errors);

void hs_workflow_destroy(hs_workflow *wf);

/*
 * Makes the plates of wf select from tree (borrowed; it must outlive wf or
 * be set again), instead of the file's own `meta:` block. The scheduler
 * gives the stack's tree, into which it has merged the block.
 */
void hs_workflow_set_tree(hs_workflow *wf, const hs_meta_tree *tree);

/* The plates the file declares (not the products of a node on several plates). */
size_t hs_workflow_declared_plates(const hs_workflow *wf);

/* Whether some plate of wf selects values from the meta-data tree. */
bool hs_workflow_uses_tree(const hs_workflow *wf);

/*
 * Growth from data (a plate with grow: from_data): the input nodes read on
 * such plates, *n of them (borrowed names; none when no plate grows).
 */
size_t hs_workflow_grow_inputs(const hs_workflow *wf, const char **names, size_t cap);

/*
 * The tree path a raw stream of an input on a growing plate adds (its
 * pairs in the order of the plate's chain, "site=a/device=4") into path,
 * or false when the stream does not belong there: another name, other
 * keys, a value the plate's match refuses, or a parent value the parent
 * plate does not have (a listed plate's list, or a node the tree lacks on
 * a plate that does not grow).
 */
bool hs_workflow_grow_path(const hs_workflow *wf, const hs_streamid *sid, char *path, size_t cap);

/*
 * The meta-data keys of a plate (its own and its ancestors', or its
 * members' for a product plate) into keys[0..*n), borrowed; at most
 * 2 * HS_SID_MAX_PAIRS. The global plate (-1) has none.
 */
void hs_workflow_plate_keys(const hs_workflow *wf, int plate, const char **keys, size_t *n);

/* Index of a factor by sink name (or plate-creation output plate), -1 when none. */
int hs_workflow_producer(const hs_workflow *wf, const char *node);

/*
 * The values of a plate (including ancestors' pairs), declared and dynamic.
 * The caller frees them with hs_pv_list_free.
 */
int hs_workflow_plate_values(const hs_workflow *wf, int plate, hs_pv **out, size_t *n);
void hs_pv_list_free(hs_pv *pvs, size_t n);

/* Whether two plate values agree on every key they share. */
bool hs_pv_compatible(const hs_pv *a, const hs_pv *b);

/* Adds values of a dynamic plate below the parent value (parent_text "" at the top). */
int hs_workflow_add_dynamic(hs_workflow *wf, int plate, const char *parent_text,
                            char *const *values, size_t n);

/* A factor at one plate value with its streams resolved. */
typedef struct hs_wf_unit {
    size_t factor;
    hs_pv pv;              /* the value the unit runs for (input plate value for multi-output) */
    hs_streamid **sources; /* owned */
    size_t nsources;
    hs_streamid *alignment; /* owned or NULL */
    hs_streamid *splitting; /* owned or NULL */
    hs_streamid **sinks;    /* owned; empty for plate creation */
    size_t nsinks;
    const char *output_meta; /* multi-output/selector: the output plate's key */
} hs_wf_unit;

/* Every unit of one factor. */
int hs_workflow_units(const hs_workflow *wf, size_t factor, hs_wf_unit **out, size_t *n);
void hs_wf_units_free(hs_wf_unit *u, size_t n);

/* The definition as a JSON document (for storage and `hsctl workflow show --json`). */
int hs_workflow_to_json(const hs_workflow *wf, hs_buf *out);

/* Graphviz text of the factor graph: plates as clusters, factors as labelled edges. */
int hs_workflow_to_dot(const hs_workflow *wf, hs_buf *out);

/* FNV-1a 64-bit hash of a string as 16 hex digits (bindings). */
void hs_binding_hash(const char *text, char out[17]);

#endif
