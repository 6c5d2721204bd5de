/*
 * Pipe mode of the tool runtime: runs one tool as a UNIX filter, without a
 * broker or a store.
 *
 *   hs-tool --pipe TOOL [--params JSON] [--msgpack] [--strict]
 *           [--from T] [--to T] [--whole] [--chunk N] [--plugin-dir DIR]
 *   hs-tool-<name> --pipe [...]       (a link named hs-tool-<name>)
 *
 * Input (stdin): JSON lines, each one payload in a form the ingest service
 * takes ({"t": ISO-8601 or epoch seconds, "v": ...}, an array of those, or a
 * bare value stamped with its arrival time), or with --msgpack a stream of
 * msgpack [t_us, v] arrays (or arrays of them). Output (stdout): the tool's
 * output in the same format, JSON lines exactly as hsctl prints them
 * ({"t":"<ISO-8601>","v":...}) or msgpack [t_us, v] arrays.
 *
 * Tools: plain tools with one source read stdin as source 0; tools without
 * sources (clock, generators) need --from and --to and read nothing. Tools
 * that work instance by instance (those with a map function, and apply) run
 * as a series of jobs over chunks of --chunk instances (default 65536), so
 * memory stays bounded whatever the input size; other tools (windows) read
 * the whole input first and run one job over (first t - 1 us, last t], or
 * over (--from, --to]. --whole forces the second way. Input must be in time
 * order: within a chunk instances are sorted, an instance older than a chunk
 * already processed and a second value for a timestamp are bad input.
 *
 * Bad input (a line that does not decode, a timestamp out of order) is
 * reported on stderr with its line number (with --msgpack: the object's
 * number) and skipped, or ends the run with --strict. Errors (unknown tool,
 * bad parameters, a failing job) go to stderr; the exit code is 0 on
 * success, 1 for a usage, parameter, input (--strict) or tool error, 2 for
 * a system error (reading or writing).
 */
#ifndef HS_TOOL_PIPE_H
#define HS_TOOL_PIPE_H

#include "hs_tool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Default instances per job of a per-instance tool. */
#define TOOL_PIPE_CHUNK 65536

typedef struct tool_pipe_opts {
    const char *tool;        /* borrowed */
    const char *params_json; /* borrowed; NULL: no parameters */
    const char *plugin_dir;  /* borrowed; NULL: HS_PLUGIN_DIR, if set */
    bool msgpack;            /* msgpack in and out instead of JSON lines */
    bool strict;             /* bad input ends the run */
    bool whole;              /* read all input, then run one job */
    size_t chunk;            /* instances per job in streaming mode */
    bool has_from, has_to;
    int64_t from_us, to_us; /* the interval (from, to] */
} tool_pipe_opts;

/*
 * Parses the pipe-mode arguments (argv[0] is the program; "--pipe" may
 * appear anywhere). alias is the tool named by the program's name
 * (hs-tool-<name>) or NULL; otherwise the first argument that is not an
 * option names the tool. Returns 0, 1 on a usage error (message on err),
 * or -1 when --help was printed to out.
 */
int tool_pipe_parse(int argc, char **argv, const char *alias, tool_pipe_opts *o, FILE *out,
                    FILE *err);

/*
 * Runs the tool of o from in_fd to out_fd, reporting on err. tools holds
 * the tools (borrowed). Returns the exit code described above.
 */
int tool_pipe_run(const tool_pipe_opts *o, const hs_tool_registry *tools, int in_fd, int out_fd,
                  FILE *err);

/*
 * The whole of pipe mode for main(): parses, builds the registry (built-in
 * tools plus plugins), runs on stdin/stdout. Returns the exit code.
 */
int tool_pipe_main(int argc, char **argv, const char *alias);

#endif
