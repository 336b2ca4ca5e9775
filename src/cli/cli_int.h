/*
 * cli_int.h: declarations shared by the files of the `vigil` command.
 *
 * A command is a row of the table in main.c: its words ("create database"), usage,
 * options and a run function. Options are declared once (cli_opt) and parsed by one
 * parser (opts.c) that also renders --help, so every flag's env var and default are
 * listed exactly where they are defined.
 */
#ifndef VIGIL_CLI_INT_H
#define VIGIL_CLI_INT_H

#include "base/base.h"
#include "client/client.h"

#include <stdio.h>

/* Exit statuses, as most Unix tools: 2 means the command line itself was wrong. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

typedef struct cli_opt {
    const char *name;    /* long name without "--" */
    char short_name;     /* 'd' for -d, or 0 */
    const char *metavar; /* "NAME"; NULL makes a boolean flag */
    const char *env[2];  /* environment variables consulted in order, or NULL */
    const char *def;     /* default value shown in help and used when unset, or NULL */
    const char *help;
} cli_opt;

/* Options shared by every client command. */
extern const cli_opt cli_opt_host;
extern const cli_opt cli_opt_token;
extern const cli_opt cli_opt_format;
extern const cli_opt cli_opt_database;

#define CLI_MAX_OPTS 32

typedef struct cli_args cli_args;

typedef struct cli_command {
    const char *group;   /* "create" for "create database"; NULL for a top-level command */
    const char *name;    /* "database", "write" */
    const char *alias;   /* "w", or NULL */
    const char *usage;   /* after "Usage: vigil ", e.g. "write [OPTIONS] [LINE_PROTOCOL]..." */
    int max_positional;  /* -1 = any number */
    const char *summary; /* one line for the command list */
    const char *details; /* paragraphs for --help, or NULL */
    const cli_opt *const *opts; /* NULL-terminated */
    int (*run)(const cli_args *a);
    int (*raw_main)(int argc, char **argv); /* instead of run: takes its own argv */
} cli_command;

struct cli_args {
    const cli_command *cmd;
    const char *val[CLI_MAX_OPTS]; /* per option: from the command line, env or default */
    char **pos;                    /* positional arguments */
    int npos;
};

/* Command table (main.c). */
extern const cli_command cli_commands[];
/* "vigil create database" for messages. */
void cli_command_title(const cli_command *cmd, char *out, size_t n);

/* Option parsing and help (opts.c). Returns CLI_EXIT_OK with *a filled, CLI_EXIT_USAGE
 * after printing the problem, or -1 after printing --help (the caller exits 0). */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *a);
void cli_args_free(cli_args *a);
void cli_print_help(const cli_command *cmd, FILE *f);
/* The value of option `name` (NULL when unset and without default). */
const char *cli_get(const cli_args *a, const char *name);
/* A boolean flag: set and not "false"/"0"/"no". */
bool cli_flag(const cli_args *a, const char *name);
/* Prints "Error: <msg>" and a pointer to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Helpers for client commands (common.c). */
/* Prints "Error: <msg>" to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A client for --host and --token; NULL after printing why. */
client *cli_connect(const cli_args *a);
/* The database named by the positional argument, else --database / its env. NULL after
 * printing a usage error. */
const char *cli_database_arg(const cli_args *a);
/* Sends the request; on a transport error prints it and returns CLI_EXIT_FAIL. */
int cli_send(client *c, const client_request *req, client_response *r);
/* The server's message from an error response: the "error" (or "message") member of
 * a JSON body, else the body text, else the reason phrase. */
void cli_server_message(const client_response *r, vg_buf *out);
/* Prints "Error: <what>: <server message> (HTTP <status>)"; returns CLI_EXIT_FAIL. */
int cli_server_error(const client_response *r, const char *what_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Asks on the terminal unless `yes` or stdin is not a TTY; true = go ahead. */
bool cli_confirm(bool yes, const char *question);
/* Renders a JSON array of flat objects as an ASCII table ("+---+" borders). Columns
 * come in order of first appearance; `empty_cols` (NULL-terminated) names the header
 * of an empty result. */
int cli_print_table(const char *json, size_t len, const char *const *empty_cols, FILE *out,
                    vg_err *e);
/* Writes a response body to stdout, adding a final newline when it lacks one. */
void cli_print_body(const client_response *r);

/* Commands. */
int cli_write(const cli_args *a);
int cli_query(const cli_args *a);
int cli_create_database(const cli_args *a);
int cli_show_databases(const cli_args *a);
int cli_update_database(const cli_args *a);
int cli_delete_database(const cli_args *a);
int cli_delete_table(const cli_args *a);
int cli_flush(const cli_args *a);

/* The processing engine's commands (trigger.c). */
int cli_create_trigger(const cli_args *a);
int cli_update_trigger(const cli_args *a);
int cli_enable_trigger(const cli_args *a);
int cli_disable_trigger(const cli_args *a);
int cli_delete_trigger(const cli_args *a);
int cli_show_plugins(const cli_args *a);
int cli_test_wal_plugin(const cli_args *a);
int cli_test_schedule_plugin(const cli_args *a);
extern const cli_opt *const cli_create_trigger_opts[];
extern const cli_opt *const cli_update_trigger_opts[];
extern const cli_opt *const cli_trigger_toggle_opts[];
extern const cli_opt *const cli_delete_trigger_opts[];
extern const cli_opt *const cli_show_plugins_opts[];
extern const cli_opt *const cli_test_wal_opts[];
extern const cli_opt *const cli_test_schedule_opts[];

/* Option lists of the commands above (for the table in main.c). */
extern const cli_opt *const cli_write_opts[];
extern const cli_opt *const cli_query_opts[];
extern const cli_opt *const cli_flush_opts[];
extern const cli_opt *const cli_create_database_opts[];
extern const cli_opt *const cli_show_databases_opts[];
extern const cli_opt *const cli_update_database_opts[];
extern const cli_opt *const cli_delete_database_opts[];
extern const cli_opt *const cli_delete_table_opts[];

/* Appends all of standard input to b. CLI_EXIT_OK or a failure exit code. */
int cli_read_stdin(vg_buf *b);

#endif /* VIGIL_CLI_INT_H */
