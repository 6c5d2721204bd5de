/* hsctl's command table, its help and completion, and the output helpers (cli.h). */
#include "cli.h"

#include "hs_utf8.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ---- */

#define END                                                                                        \
    {                                                                                              \
        NULL, NULL, NULL, NULL, HSCTL_ARG_NONE, NULL                                               \
    }

static const hsctl_cli_cmd c_up[] = {{NULL, "[--port N] [--broker URL] [--http-port N]",
                                      "start the local stack in the background",
                                      "--port --broker --http-port", HSCTL_ARG_NONE, NULL},
                                     END};
static const hsctl_cli_cmd c_down[] = {
    {NULL, "", "stop exactly what 'up' started", "", HSCTL_ARG_NONE, NULL}, END};
static const hsctl_cli_cmd c_status[] = {
    {NULL, "[--json]", "every service's state", "--json", HSCTL_ARG_NONE, NULL}, END};
static const hsctl_cli_cmd c_pub[] = {
    {NULL, "ID [--t T] [--qos 0|1] VALUE",
     "publish one reading to hs/raw/ID ('-': JSON lines from stdin)", "--t --qos", HSCTL_ARG_STREAM,
     NULL},
    END};
static const hsctl_cli_cmd c_sub[] = {{NULL, "PATTERN [--count N] [--timeout SECONDS]",
                                       "print new instances (and corrections) as JSON lines",
                                       "--count --timeout", HSCTL_ARG_STREAM, NULL},
                                      END};
static const hsctl_cli_cmd c_stream[] = {
    {"ls", "[PREFIX|PATTERN] [--limit N] [--summary] [--json]",
     "list streams: kind, count, calculated span", "--limit --summary --json", HSCTL_ARG_STREAM,
     "Lists the streams whose id starts with PREFIX, or matches the glob PATTERN (*, ?,\n"
     "[...] over the whole id: 'temp/*', '*/dev=12*'; quote it for the shell). The table\n"
     "shows 1000 rows unless --limit N says otherwise (0: all) and counts the rest on a\n"
     "last line; --json prints every stream unless --limit is given. --summary: one row\n"
     "per stream name (the id before its first '/') with its streams, instances, kinds\n"
     "and calculated span. A PATTERN that matches no stream is an error (exit 1)."},
    {"get", "ID [--from T] [--to T] [--head N|--tail N] [--format json|csv|table]",
     "print a stream's instances over (FROM, TO]", "--from --to --head --tail --format",
     HSCTL_ARG_STREAM,
     "Prints the instances of stream ID with FROM < t <= TO in time order (default: all of\n"
     "them). Times: ISO-8601, epoch seconds, 'now', or -1h (relative). json: one\n"
     "{\"t\",\"v\"} object per line; csv: RFC 4180 with a t,v header (text as text, maps\n"
     "and arrays as JSON in one quoted field); table: columns for reading, numbers exact."},
    {"intervals", "ID [--json]", "its calculated (and reopened) intervals", "--json",
     HSCTL_ARG_STREAM, NULL},
    {"invalidate", "ID --from T --to T", "reopen its calculated intervals there and downstream",
     "--from --to", HSCTL_ARG_STREAM,
     "Reopens the calculated intervals of stream ID within (FROM, TO] and everything\n"
     "computed from them downstream (for a raw stream: what reads it). Online workflows\n"
     "compute them again at their next run; otherwise hsctl compute does. Until then\n"
     "hsctl stream intervals shows them as reopened."},
    {"purge", "ID [--remove] | ID|PATTERN --before T [--dry-run]",
     "delete a stream's data (--remove: and its definition), or its data up to T",
     "--remove --before --dry-run", HSCTL_ARG_STREAM,
     "hsctl stream purge ID deletes all instances of stream ID (--remove: its definition\n"
     "too). With --before T it deletes the instances with t <= T of stream ID or of every\n"
     "stream PATTERN (MQTT wildcards + and #) names, and (-inf, T] of their calculated\n"
     "intervals: a compute over that time computes again what its sources still hold.\n"
     "--dry-run prints what would go. Retention settings: docs/DEPLOY.md, Retention."},
    END};
static const hsctl_cli_cmd c_workflow[] = {
    {"add", "FILE [--replace | --dry-run]", "store a workflow; a changed one needs --replace",
     "--replace --dry-run", HSCTL_ARG_FILE,
     "Validates the definition (YAML or JSON) and stores it. When a workflow of its id\n"
     "exists with another definition, the streams of its changed factors are purged and\n"
     "computed again: that needs --replace, and --dry-run prints the plan only."},
    {"ls", "[--json]", "list stored workflows", "--json", HSCTL_ARG_NONE, NULL},
    {"show", "ID [--dot | --svg FILE | --json]", "a stored workflow, as text, Graphviz or JSON",
     "--dot --svg --json", HSCTL_ARG_WORKFLOW,
     "The text and the graph show the first values of a plate and how many more there\n"
     "are (a fleet's plate holds 100,000); --json prints the whole definition."},
    {"rm", "ID", "remove a workflow (its streams are kept)", "", HSCTL_ARG_WORKFLOW, NULL},
    {"check", "FILE", "validate a workflow file only", "", HSCTL_ARG_FILE, NULL},
    END};
static const hsctl_cli_cmd c_compute[] = {
    {NULL, "ID --from T --to T [--wait] [--timeout SECONDS] [--yes] [--confirm-over N]",
     "compute what is missing (or reopened) over (FROM, TO]; --cancel REQUEST stops one",
     "--from --to --wait --timeout --yes --confirm-over --cancel", HSCTL_ARG_WORKFLOW, NULL},
    END};
static const hsctl_cli_cmd c_jobs[] = {
    {NULL, "[WORKFLOW] [--limit N] [--failed] [--factor N] [--json]",
     "the job history, newest first", "--limit --failed --factor --json", HSCTL_ARG_WORKFLOW,
     "At most --limit N rows (default 50; 0: all), also of the jobs --failed (only the\n"
     "failed ones) and --factor N (only factor N's, the F column: 1 or f1) select."},
    END};
static const hsctl_cli_cmd c_session[] = {
    {"ls", "[WORKFLOW] [--json]",
     "sessions (a compute request, an online activation), newest first", "--json",
     HSCTL_ARG_WORKFLOW,
     "Each compute request and each online activation of a workflow is a session: its\n"
     "workflow, kind, state (active, closed), outcome (ok, failed, cancelled,\n"
     "interrupted), jobs (planned, done, failed), the intervals it covered (merged)\n"
     "and its first error.\n"
     "Active sessions are kept. The writer deletes a closed session once it ended\n"
     "longer ago than its history_keep (default 7d), and keeps at most history_max\n"
     "(default 100000) closed sessions per workflow, those that ended last, also of\n"
     "removed workflows. A session document that does not decode is kept and logged."},
    {"show", "ID [--json]", "one session: its intervals, jobs, outcome and first error", "--json",
     HSCTL_ARG_NONE, NULL},
    END};
static const hsctl_cli_cmd c_meta[] = {
    {"add", "PATH...", "insert meta-data tree nodes (site=a/device=1: the missing ones)", "",
     HSCTL_ARG_NONE,
     "A path names a node by the tag=value parts from the root (site=a/device=1).\n"
     "Inserting an existing node changes nothing. Plates without values select from the\n"
     "tree, so the workflows that use them compute the new plate values from now on."},
    {"rm", "PATH...", "delete nodes and their subtrees (their streams are kept)", "",
     HSCTL_ARG_NONE,
     "Deleting a node deletes its subtree; deleting an absent node changes nothing. The\n"
     "plate values go from every plate that selected them: their queued jobs are dropped,\n"
     "running ones finish, and what was computed stays in the store."},
    {"ls", "[PATH] [--json]", "the nodes at and below PATH (all), one path a line", "--json",
     HSCTL_ARG_NONE, NULL},
    {"tree", "[PATH]", "the tree drawn, below PATH (all)", "", HSCTL_ARG_NONE, NULL},
    END};
static const hsctl_cli_cmd c_tool[] = {
    {"ls", "[--json]",
     "the tools a factor can use (built in, and the stack's plugin_dir), one line per version",
     "--json", HSCTL_ARG_NONE, NULL},
    {"show", "NAME [VERSION]",
     "a tool's sources, parameters and documentation (the newest version, or VERSION)", "",
     HSCTL_ARG_TOOL, NULL},
    END};
static const hsctl_cli_cmd c_ctl[] = {
    {NULL, "SERVICE-ID COMMAND [NAME [VALUE]]",
     "a command on a service's control channel\n"
     "(ping, stats, get [NAME], set NAME VALUE, pause, resume, drain, shutdown)",
     "", HSCTL_ARG_NONE, NULL},
    END};
static const hsctl_cli_cmd c_top[] = {{NULL, "[--once] [--interval SECONDS]",
                                       "a live view of every service's metrics",
                                       "--once --interval", HSCTL_ARG_NONE, NULL},
                                      END};
static const hsctl_cli_cmd c_help[] = {
    {NULL, "[VERB]", "this help, or a verb's commands and options", "", HSCTL_ARG_VERB, NULL}, END};
static const hsctl_cli_cmd c_completion[] = {
    {"bash", "", "print the bash completion script", "", HSCTL_ARG_NONE, NULL}, END};

static const hsctl_cli_verb g_verbs[] = {
    {"up", "The local stack (broker, writer, ingest, scheduler, tools, api; embedded store)", c_up,
     NULL},
    {"down", NULL, c_down, NULL},
    {"status", NULL, c_status, NULL},
    {"pub", "Data", c_pub, NULL},
    {"sub", NULL, c_sub, NULL},
    {"stream", NULL, c_stream, NULL},
    {"workflow", "Workflows and their computation", c_workflow, NULL},
    {"compute", NULL, c_compute, NULL},
    {"jobs", NULL, c_jobs, NULL},
    {"session", NULL, c_session, "ls"},
    {"meta", NULL, c_meta, "ls"},
    {"tool", NULL, c_tool, "ls"},
    {"ctl", "Operations", c_ctl, NULL},
    {"top", NULL, c_top, NULL},
    {"help", "The command line", c_help, NULL},
    {"completion", NULL, c_completion, NULL},
};
#define NVERBS (sizeof g_verbs / sizeof g_verbs[0])

/* Options every verb takes. */
static const char g_common_opts[] = "--data --help";

static const struct {
    int code;
    const char *meaning;
} g_exit_codes[] = {
    {HSCTL_OK, "success"},
    {HSCTL_USER, "user error: a bad argument, an unknown stream or workflow, a request\n"
                 "     the stack refused, no stack in the --data directory"},
    {HSCTL_SYSTEM, "system error: the broker or the store unreachable, a service that\n"
                   "     does not answer, jobs failed (compute --wait); also an unknown verb\n"
                   "     or command (usage error)"},
    {HSCTL_TIMEOUT, "gave up waiting (compute --wait --timeout): the request goes on"},
    {HSCTL_CANCELLED, "the request compute --wait followed was cancelled (compute --cancel,\n"
                      "     workflow rm)"},
    {HSCTL_INTERRUPTED, "interrupted (Ctrl-C) while compute --wait waited: the request goes on"},
};

const hsctl_cli_verb *hsctl_cli_verbs(size_t *n)
{
    *n = NVERBS;
    return g_verbs;
}

const hsctl_cli_verb *hsctl_cli_verb_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < NVERBS; i++)
        if (strcmp(g_verbs[i].name, name) == 0)
            return &g_verbs[i];
    return NULL;
}

bool hsctl_cli_has_cmds(const hsctl_cli_verb *v)
{
    return v != NULL && v->cmds[0].name != NULL;
}

const hsctl_cli_cmd *hsctl_cli_cmd_find(const hsctl_cli_verb *v, const char *name)
{
    if (!hsctl_cli_has_cmds(v) || name == NULL)
        return NULL;
    for (const hsctl_cli_cmd *c = v->cmds; c->summary != NULL; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

const char *hsctl_cli_suggest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;
    size_t wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t d = hs_text_distance(word, wl, names[i], strlen(names[i]), 8);
        /* A start of a name ("inter" for "intervals") is as good as one edit. */
        if (wl >= 2 && strncmp(names[i], word, wl) == 0 && d > 1)
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

int hsctl_cli_unknown(const hsctl_cli_verb *v, const char *word, hs_buf *out)
{
    const char *names[NVERBS + 16] = {NULL};
    size_t n = 0;
    if (v == NULL) {
        for (size_t i = 0; i < NVERBS; i++)
            names[n++] = g_verbs[i].name;
    } else {
        for (const hsctl_cli_cmd *c = v->cmds; c->summary != NULL && n < NVERBS + 16; c++)
            if (c->name != NULL)
                names[n++] = c->name;
    }
    const char *s = hsctl_cli_suggest(word, names, n);
    int rc = v == NULL ? hs_buf_printf(out, "hsctl: unknown verb '%s'", word)
                       : hs_buf_printf(out, "hsctl %s: unknown command '%s'", v->name, word);
    if (rc == HS_OK && s != NULL)
        rc = hs_buf_printf(out, " (did you mean '%s'?)", s);
    if (rc == HS_OK)
        rc = hs_buf_puts(out, v == NULL ? "\nverbs: " : "\ncommands: ");
    for (size_t i = 0; rc == HS_OK && i < n; i++)
        rc = hs_buf_printf(out, "%s%s", i > 0 ? ", " : "", names[i]);
    if (rc == HS_OK)
        rc = hs_buf_printf(out, "\n(hsctl help%s%s tells more)\n", v ? " " : "", v ? v->name : "");
    return rc;
}

/* Appends text, each line after the first indented by indent spaces, and a newline. */
static int indented(hs_buf *out, const char *text, int indent)
{
    int rc = HS_OK;
    for (const char *p = text; rc == HS_OK && *p; p++) {
        rc = hs_buf_putc(out, (uint8_t)*p);
        if (rc == HS_OK && *p == '\n')
            rc = hs_buf_printf(out, "%*s", indent, "");
    }
    if (rc == HS_OK)
        rc = hs_buf_putc(out, '\n');
    return rc;
}

/* Appends "  <left>" padded to the summary's column, then the summary. */
static int help_line(hs_buf *out, const char *left, const char *summary)
{
    const int col = 38;
    int rc = hs_buf_printf(out, "  %s", left);
    int len = (int)strlen(left) + 2;
    if (rc == HS_OK && len + 1 > col)
        rc = hs_buf_printf(out, "\n%*s", col, "");
    else if (rc == HS_OK)
        rc = hs_buf_printf(out, "%*s", col - len, "");
    if (rc == HS_OK)
        rc = indented(out, summary, col);
    return rc;
}

/* "verb cmd args" (without empty parts) into buf. */
static void cmd_usage(const hsctl_cli_verb *v, const hsctl_cli_cmd *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", v->name, c->name ? " " : "", c->name ? c->name : "",
             c->args[0] ? " " : "", c->args);
}

int hsctl_cli_exit_codes(hs_buf *out)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < sizeof g_exit_codes / sizeof g_exit_codes[0]; i++)
        rc = hs_buf_printf(out, "  %d  %s\n", g_exit_codes[i].code, g_exit_codes[i].meaning);
    return rc;
}

int hsctl_cli_help(hs_buf *out)
{
    int rc = hs_buf_puts(out, "usage: hsctl [--data DIR] VERB [COMMAND] [ARGS]\n");
    for (size_t i = 0; rc == HS_OK && i < NVERBS; i++) {
        const hsctl_cli_verb *v = &g_verbs[i];
        if (v->group != NULL)
            rc = hs_buf_printf(out, "\n%s:\n", v->group);
        for (const hsctl_cli_cmd *c = v->cmds; rc == HS_OK && c->summary != NULL; c++) {
            char left[256];
            cmd_usage(v, c, left, sizeof left);
            rc = help_line(out, left, c->summary);
        }
    }
    if (rc == HS_OK)
        rc = hs_buf_puts(
            out,
            "\nThe stack is found through --data DIR or HS_DATA (a directory 'hsctl up' made;\n"
            "one without a stack is an error), else ./hs-data when it holds one, else\n"
            "HS_BROKER_URL and HS_STORE_URL. Listing verbs take --json (JSON lines: one object\n"
            "per line). 'hsctl help VERB' or 'hsctl VERB --help' tells more; docs/CLI.md is\n"
            "the reference.\n"
            "\nExit codes:\n");
    if (rc == HS_OK)
        rc = hsctl_cli_exit_codes(out);
    return rc;
}

int hsctl_cli_cmd_help(const hsctl_cli_verb *v, const hsctl_cli_cmd *c, hs_buf *out)
{
    char left[256];
    cmd_usage(v, c, left, sizeof left);
    int rc = hs_buf_printf(out, "usage: hsctl %s\n%s\n", left, c->summary);
    if (rc == HS_OK && c->opts[0] != '\0')
        rc = hs_buf_printf(out, "options: %s (and --data DIR)\n", c->opts);
    if (rc == HS_OK && c->detail != NULL)
        rc = hs_buf_printf(out, "\n%s\n", c->detail);
    return rc;
}

int hsctl_cli_verb_help(const hsctl_cli_verb *v, hs_buf *out)
{
    int rc = HS_OK;
    for (const hsctl_cli_cmd *c = v->cmds; rc == HS_OK && c->summary != NULL; c++) {
        char left[256];
        cmd_usage(v, c, left, sizeof left);
        rc = hs_buf_printf(out, "%s hsctl %s\n      ", c == v->cmds ? "usage:" : "      ", left);
        if (rc == HS_OK)
            rc = indented(out, c->summary, 6);
        if (rc == HS_OK && c->opts[0] != '\0')
            rc = hs_buf_printf(out, "      options: %s\n", c->opts);
    }
    if (rc == HS_OK && v->dflt != NULL)
        rc = hs_buf_printf(out, "Without a command: %s %s.\n", v->name, v->dflt);
    if (rc == HS_OK)
        rc = hs_buf_printf(out, "Every verb also takes --data DIR.%s\n",
                           hsctl_cli_has_cmds(v) ? " 'hsctl VERB COMMAND --help' tells more." : "");
    return rc;
}

/* ---- bash completion ---- */

static const char *arg_kind(hsctl_cli_arg a)
{
    switch (a) {
    case HSCTL_ARG_FILE:
        return "file";
    case HSCTL_ARG_STREAM:
        return "stream";
    case HSCTL_ARG_WORKFLOW:
        return "workflow";
    case HSCTL_ARG_TOOL:
        return "tool";
    case HSCTL_ARG_VERB:
        return "verb";
    case HSCTL_ARG_SHELL:
        return "shell";
    case HSCTL_ARG_NONE:
        break;
    }
    return "";
}

/* The case arm of one command: its options and what its argument names. */
static int completion_arm(hs_buf *out, const char *pattern, const hsctl_cli_cmd *c)
{
    return hs_buf_printf(out, "        %s) opts=\"%s%s%s\"; arg=%s ;;\n", pattern, c->opts,
                         c->opts[0] ? " " : "", g_common_opts,
                         arg_kind(c->arg)[0] ? arg_kind(c->arg) : "none");
}

int hsctl_cli_completion_bash(hs_buf *out)
{
    int rc = hs_buf_puts(
        out,
        "# bash completion for hsctl, written by 'hsctl completion bash'.\n"
        "# Load it with: source <(hsctl completion bash)\n"
        "_hsctl_ids() {\n"
        "    # $1: stream, workflow or tool; $2: the word typed so far; the rest: hsctl's\n"
        "    # global options. Streams are listed under that word (a fleet has 100,000).\n"
        "    local what=$1 typed=$2; shift 2\n"
        "    case $what in\n"
        "        stream) \"${COMP_WORDS[0]}\" \"$@\" stream ls \"$typed\" 2>/dev/null ;;\n"
        "        workflow) \"${COMP_WORDS[0]}\" \"$@\" workflow ls 2>/dev/null ;;\n"
        "        tool) \"${COMP_WORDS[0]}\" \"$@\" tool ls 2>/dev/null ;;\n"
        "    esac | awk 'NR > 1 && $1 !~ /^\\(/ && $3 != \"more\" && !seen[$1]++ { print $1 }'\n"
        "}\n"
        "_hsctl() {\n"
        "    local cur=${COMP_WORDS[COMP_CWORD]}\n"
        "    local prev=${COMP_WORDS[COMP_CWORD-1]}\n"
        "    local verb='' cmd='' npos=0 i w\n"
        "    local -a global=()\n"
        "    COMPREPLY=()\n"
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "        w=${COMP_WORDS[i]}\n"
        "        case $w in\n"
        "            --data) global=(--data \"${COMP_WORDS[i+1]}\"); ((i++)); continue ;;\n"
        "            "
        "--cancel|--confirm-over|--from|--to|--t|--qos|--port|--broker|--limit|--factor|--count|--"
        "timeout|--"
        "interval|--head|--tail|-"
        "-format|--svg) ((i++)); continue ;;\n"
        "            --*) continue ;;\n"
        "        esac\n"
        "        if [[ -z $verb ]]; then verb=$w\n"
        "        elif [[ -z $cmd && $_hsctl_has_cmds == *\" $verb \"* ]]; then cmd=$w\n"
        "        else ((npos++)); fi\n"
        "    done\n"
        "    case $prev in\n"
        "        --data) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
        "        --svg) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
        "        --format) COMPREPLY=($(compgen -W 'json csv table' -- \"$cur\")); return ;;\n"
        "        "
        "--cancel|--confirm-over|--from|--to|--t|--port|--broker|--limit|--factor|--count|--"
        "timeout|--"
        "interval|--head|--tail|--qos) "
        "return ;;\n"
        "    esac\n"
        "    if [[ -z $verb ]]; then\n"
        "        COMPREPLY=($(compgen -W \"$_hsctl_verbs --data --help --version\" -- \"$cur\"))\n"
        "        return\n"
        "    fi\n"
        "    local opts='' arg=none\n"
        "    case $verb in\n");
    for (size_t i = 0; rc == HS_OK && i < NVERBS; i++) {
        const hsctl_cli_verb *v = &g_verbs[i];
        rc = hs_buf_printf(out, "    %s)\n", v->name);
        if (rc == HS_OK && hsctl_cli_has_cmds(v)) {
            rc = hs_buf_puts(out, "        if [[ -z $cmd ]]; then\n"
                                  "            COMPREPLY=($(compgen -W \"");
            for (const hsctl_cli_cmd *c = v->cmds; rc == HS_OK && c->summary != NULL; c++)
                rc = hs_buf_printf(out, "%s ", c->name);
            if (rc == HS_OK)
                rc = hs_buf_printf(out,
                                   "%s\" -- \"$cur\"))\n"
                                   "            return\n"
                                   "        fi\n"
                                   "        case $cmd in\n",
                                   g_common_opts);
            for (const hsctl_cli_cmd *c = v->cmds; rc == HS_OK && c->summary != NULL; c++)
                rc = completion_arm(out, c->name, c);
            if (rc == HS_OK)
                rc = hs_buf_puts(out, "        esac ;;\n");
        } else if (rc == HS_OK) {
            rc = hs_buf_puts(out, "        case 1 in\n");
            if (rc == HS_OK)
                rc = completion_arm(out, "1", &v->cmds[0]);
            if (rc == HS_OK)
                rc = hs_buf_puts(out, "        esac ;;\n");
        }
    }
    if (rc == HS_OK)
        rc = hs_buf_puts(
            out, "    esac\n"
                 "    if [[ $cur == -* || $npos -gt 0 ]]; then\n"
                 "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
                 "        return\n"
                 "    fi\n"
                 "    case $arg in\n"
                 "        file) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
                 "        verb) COMPREPLY=($(compgen -W \"$_hsctl_verbs\" -- \"$cur\")) ;;\n"
                 "        stream|workflow|tool)\n"
                 "            COMPREPLY=($(compgen -W \"$(_hsctl_ids \"$arg\" \"$cur\" "
                 "\"${global[@]}\")\" "
                 "-- \"$cur\")) ;;\n"
                 "        *) COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\")) ;;\n"
                 "    esac\n"
                 "}\n"
                 "_hsctl_verbs='");
    for (size_t i = 0; rc == HS_OK && i < NVERBS; i++)
        rc = hs_buf_printf(out, "%s%s", i > 0 ? " " : "", g_verbs[i].name);
    if (rc == HS_OK)
        rc = hs_buf_puts(out, "'\n_hsctl_has_cmds=' ");
    for (size_t i = 0; rc == HS_OK && i < NVERBS; i++)
        if (hsctl_cli_has_cmds(&g_verbs[i]))
            rc = hs_buf_printf(out, "%s ", g_verbs[i].name);
    if (rc == HS_OK)
        rc = hs_buf_puts(out, "'\ncomplete -F _hsctl hsctl\n");
    return rc;
}

/* ---- tables ---- */

/* Characters of UTF-8 text s (continuation bytes do not count). */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

int hsctl_table_init(hsctl_table *t, size_t ncols, const char *const *heads, const char *align)
{
    memset(t, 0, sizeof *t);
    if (ncols == 0 || heads == NULL || (align != NULL && strlen(align) < ncols))
        return HS_ERR_INVAL;
    t->ncols = ncols;
    t->align = align;
    t->width = hs_calloc(ncols, sizeof *t->width);
    if (t->width == NULL)
        return HS_ERR_NOMEM;
    int rc = hsctl_table_add(t, heads);
    if (rc != HS_OK)
        hsctl_table_free(t);
    return rc;
}

int hsctl_table_add(hsctl_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **v = hs_realloc(t->cells, cap * t->ncols * sizeof *v);
        if (v == NULL)
            return HS_ERR_NOMEM;
        t->cells = v;
        t->cap = cap;
    }
    char **row = t->cells + t->rows * t->ncols;
    for (size_t k = 0; k < t->ncols; k++) {
        row[k] = hs_strdup(cells[k] != NULL ? cells[k] : "-");
        if (row[k] == NULL) {
            while (k-- > 0)
                hs_free(row[k]);
            return HS_ERR_NOMEM;
        }
    }
    t->rows++;
    return HS_OK;
}

int hsctl_table_flush(hsctl_table *t, hs_buf *out)
{
    for (size_t r = 0; r < t->rows; r++)
        for (size_t k = 0; k < t->ncols; k++) {
            size_t w = text_width(t->cells[r * t->ncols + k]);
            if (w > t->width[k])
                t->width[k] = w;
        }
    int rc = HS_OK;
    for (size_t r = 0; rc == HS_OK && r < t->rows; r++) {
        for (size_t k = 0; rc == HS_OK && k < t->ncols; k++) {
            const char *c = t->cells[r * t->ncols + k];
            size_t pad = t->width[k] - text_width(c);
            bool right = t->align != NULL && t->align[k] == 'r';
            bool last = k + 1 == t->ncols;
            if (k > 0)
                rc = hs_buf_puts(out, "  ");
            for (size_t p = 0; rc == HS_OK && right && p < pad; p++)
                rc = hs_buf_putc(out, ' ');
            if (rc == HS_OK)
                rc = hs_buf_puts(out, c);
            for (size_t p = 0; rc == HS_OK && !right && !last && p < pad; p++)
                rc = hs_buf_putc(out, ' ');
        }
        if (rc == HS_OK)
            rc = hs_buf_putc(out, '\n');
    }
    for (size_t i = 0; i < t->rows * t->ncols; i++)
        hs_free(t->cells[i]);
    if (t->rows > 0)
        t->header_shown = true;
    t->rows = 0;
    return rc;
}

void hsctl_table_free(hsctl_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->rows * t->ncols; i++)
        hs_free(t->cells[i]);
    hs_free(t->cells);
    hs_free(t->width);
    memset(t, 0, sizeof *t);
}

/* ---- values as text ---- */

int hsctl_csv_field(hs_buf *out, const char *s, size_t len, bool always_quote)
{
    bool quote = always_quote;
    for (size_t i = 0; !quote && i < len; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote)
        return hs_buf_append(out, s, len);
    int rc = hs_buf_putc(out, '"');
    for (size_t i = 0; rc == HS_OK && i < len; i++) {
        if (s[i] == '"')
            rc = hs_buf_putc(out, '"');
        if (rc == HS_OK)
            rc = hs_buf_putc(out, (uint8_t)s[i]);
    }
    if (rc == HS_OK)
        rc = hs_buf_putc(out, '"');
    return rc;
}

int hsctl_value_text(hs_buf *out, const uint8_t *mp, size_t len, bool csv)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, mp, len);
    hs_mp_type ty;
    int rc = hs_mp_peek(&r, &ty);
    if (rc != HS_OK)
        return rc;
    if (ty == HS_MP_STR) {
        const char *s;
        uint32_t n;
        rc = hs_mp_get_str(&r, &s, &n);
        if (rc != HS_OK)
            return rc;
        return csv ? hsctl_csv_field(out, s, n, false) : hs_buf_append(out, s, n);
    }
    if (ty == HS_MP_NIL && csv)
        return HS_OK;
    /* Numbers (shortest exact form), booleans, null, maps and arrays: their JSON text. */
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    rc = hs_json_from_mpack(&r, &tmp);
    if (rc == HS_OK && csv)
        rc = hsctl_csv_field(out, (const char *)tmp.data, tmp.len,
                             ty == HS_MP_MAP || ty == HS_MP_ARRAY);
    else if (rc == HS_OK)
        rc = hs_buf_append(out, tmp.data, tmp.len);
    hs_buf_free(&tmp);
    return rc;
}

const char *hsctl_fmt_seconds(double s, char out[HSCTL_SECONDS_MAX])
{
    if (!isfinite(s) || s < 0)
        s = 0;
    if (s < 9.995)
        snprintf(out, HSCTL_SECONDS_MAX, "%.2fs", s);
    else if (s < 99.95)
        snprintf(out, HSCTL_SECONDS_MAX, "%.1fs", s);
    else if (s < 3599.5) {
        long r = lround(s);
        snprintf(out, HSCTL_SECONDS_MAX, "%ldm%02lds", r / 60, r % 60);
    } else {
        double m = s / 60.0;
        long r = m < 1e15 ? lround(m) : 999999999999999L;
        snprintf(out, HSCTL_SECONDS_MAX, "%ldh%02ldm", r / 60, r % 60);
    }
    return out;
}

int hsctl_shell_quote(hs_buf *out, const char *s)
{
    bool plain = s[0] != '\0';
    for (const char *p = s; plain && *p; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                strchr("_-./=:,+@%", *p) != NULL;
    if (plain)
        return hs_buf_puts(out, s);
    int rc = hs_buf_putc(out, '\'');
    for (const char *p = s; rc == HS_OK && *p; p++)
        rc = *p == '\'' ? hs_buf_puts(out, "'\\''") : hs_buf_putc(out, (uint8_t)*p);
    if (rc == HS_OK)
        rc = hs_buf_putc(out, '\'');
    return rc;
}

const char *hsctl_fmt_count(uint64_t n, char out[HSCTL_COUNT_MAX])
{
    char digits[24];
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

bool hsctl_is_glob(const char *s)
{
    return strpbrk(s, "*?[\\") != NULL;
}

size_t hsctl_glob_literal(const char *s)
{
    return strcspn(s, "*?[\\");
}

/* ---- stream summaries ---- */

void hsctl_summary_init(hsctl_summary *s)
{
    memset(s, 0, sizeof *s);
    hs_map_init(&s->index);
}

int hsctl_summary_add(hsctl_summary *s, const char *id, int kind, uint64_t count,
                      const hs_intervals *calculated)
{
    size_t len = strcspn(id, "/");
    uintptr_t at = (uintptr_t)hs_map_getn(&s->index, id, len);
    if (at == 0) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            hsctl_sum_row *v = hs_realloc(s->rows, cap * sizeof *v);
            if (v == NULL)
                return HS_ERR_NOMEM;
            s->rows = v;
            s->cap = cap;
        }
        hsctl_sum_row *r = &s->rows[s->n];
        memset(r, 0, sizeof *r);
        r->name = hs_strndup(id, len);
        if (r->name == NULL)
            return HS_ERR_NOMEM;
        if (hs_map_put(&s->index, r->name, (void *)(uintptr_t)(s->n + 1), NULL) != HS_OK) {
            hs_free(r->name);
            return HS_ERR_NOMEM;
        }
        at = ++s->n;
    }
    hsctl_sum_row *r = &s->rows[at - 1];
    r->streams++;
    r->instances += count;
    if (kind >= 0 && kind < 3)
        r->kinds[kind]++;
    hs_interval span;
    if (calculated != NULL && hs_intervals_span(calculated, &span)) {
        if (!r->have_span || span.start < r->span.start)
            r->span.start = span.start;
        if (!r->have_span || span.end > r->span.end)
            r->span.end = span.end;
        r->have_span = true;
    }
    return HS_OK;
}

static int sum_row_cmp(const void *a, const void *b)
{
    return strcmp(((const hsctl_sum_row *)a)->name, ((const hsctl_sum_row *)b)->name);
}

void hsctl_summary_sort(hsctl_summary *s)
{
    if (s->n > 1)
        qsort(s->rows, s->n, sizeof *s->rows, sum_row_cmp);
    /* The index named rows by their old places: it is not used after sorting. */
    hs_map_free(&s->index);
    hs_map_init(&s->index);
}

void hsctl_summary_free(hsctl_summary *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        hs_free(s->rows[i].name);
    hs_free(s->rows);
    hs_map_free(&s->index);
    memset(s, 0, sizeof *s);
}
