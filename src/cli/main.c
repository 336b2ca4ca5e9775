/* cli/main.c: the `vigil` command: the table of subcommands and the dispatch from
 * argv to a row of it. `serve` hands its arguments to the server module; every other
 * command is a client of a running server (see docs/cli.md).
 *
 * A new command is one row here plus its run function and option list; parsing,
 * env/default handling and --help come from opts.c. */
#include "cli_int.h"
#include "server/server.h"

#include <string.h>

static const cli_opt *const no_opts[] = {NULL};

const cli_command cli_commands[] = {
    {
        .name = "serve",
        .usage = "serve [OPTIONS]",
        .summary = "Run the Vigil server",
        .opts = no_opts,
        .raw_main = server_serve_main,
    },
    {
        .name = "write",
        .alias = "w",
        .usage = "write [OPTIONS] --database <NAME> [LINE_PROTOCOL]...",
        .max_positional = -1,
        .summary = "Write line protocol to a database",
        .details = "Line protocol comes from the arguments (each one or more lines), from\n"
                   "--file, or from standard input when neither is given. Input larger than\n"
                   "--max-request-size is sent in several requests, split between lines.\n"
                   "Rejected lines are reported as 'line <n>: <error>: <line>' and the\n"
                   "command exits with status 1.",
        .opts = cli_write_opts,
        .run = cli_write,
    },
    {
        .name = "query",
        .alias = "q",
        .usage = "query [OPTIONS] --database <NAME> [QUERY]",
        .max_positional = 1,
        .summary = "Run a SQL query against a database",
        .details = "The query is the argument, or the contents of --file. The result is\n"
                   "printed as the server sends it: a table by default, or JSON, JSON lines\n"
                   "or CSV with --format. --format parquet writes one Parquet file, to\n"
                   "--output FILE or a redirected standard output (never a terminal).\n"
                   "On an error the server's message is printed and the command exits\n"
                   "with status 1.",
        .opts = cli_query_opts,
        .run = cli_query,
    },
    {
        .name = "flush",
        .usage = "flush [OPTIONS]",
        .summary = "Persist the write buffer to Parquet files now",
        .details = "Snapshots every database's buffered rows to Parquet (as the server does\n"
                   "when a time partition closes, when the buffer passes --max-buffer-bytes,\n"
                   "and at a clean shutdown) and deletes the WAL segments they covered.\n"
                   "With --database, the command first checks that the database exists.",
        .opts = cli_flush_opts,
        .run = cli_flush,
    },
    {
        .group = "create",
        .name = "database",
        .usage = "create database [OPTIONS] <NAME>",
        .max_positional = 1,
        .summary = "Create a database",
        .details = "NAME: ASCII letters, digits, '_' and '-', starting with a letter or digit.\n"
                   "It may also come from --database or VIGIL_DATABASE_NAME.",
        .opts = cli_create_database_opts,
        .run = cli_create_database,
    },
    {
        .group = "show",
        .name = "databases",
        .usage = "show databases [OPTIONS]",
        .max_positional = 0,
        .summary = "List databases",
        .opts = cli_show_databases_opts,
        .run = cli_show_databases,
    },
    {
        .group = "update",
        .name = "database",
        .usage = "update database [OPTIONS] --retention-period <DURATION> <NAME>",
        .max_positional = 1,
        .summary = "Change the retention period of a database",
        .opts = cli_update_database_opts,
        .run = cli_update_database,
    },
    {
        .group = "delete",
        .name = "database",
        .usage = "delete database [OPTIONS] <NAME>",
        .max_positional = 1,
        .summary = "Delete a database",
        .details = "The database is soft-deleted at once: it is renamed and its name is free\n"
                   "again. Its Parquet files are removed at --hard-delete: now, never, or by\n"
                   "default after the server's --hard-delete-default-duration (72h).\n"
                   "On a terminal you are asked to confirm unless --yes is given.",
        .opts = cli_delete_database_opts,
        .run = cli_delete_database,
    },
    {
        .group = "delete",
        .name = "table",
        .usage = "delete table [OPTIONS] --database <NAME> <TABLE>",
        .max_positional = 1,
        .summary = "Delete a table",
        .details = "The table is soft-deleted at once: it is renamed and its name is free\n"
                   "again. Its Parquet files are removed at --hard-delete: now, never, or by\n"
                   "default after the server's --hard-delete-default-duration (72h). To\n"
                   "delete some rows only, use SQL: vigil query \"DELETE FROM t WHERE ...\".\n"
                   "On a terminal you are asked to confirm unless --yes is given.",
        .opts = cli_delete_table_opts,
        .run = cli_delete_table,
    },
    /* The processing engine (trigger.c). */
    {
        .group = "create",
        .name = "trigger",
        .usage = "create trigger [OPTIONS] --database <NAME> --trigger-spec <SPEC> --path <PATH> "
                 "<TRIGGER_NAME>",
        .max_positional = 1,
        .summary = "Create a processing-engine trigger (a plugin bound to an event)",
        .details = "SPEC: table:<TABLE> or all_tables (writes), every:<DURATION> or\n"
                   "cron:<SEC MIN HOUR DOM MONTH DOW [YEAR]> (schedule), request:<PATH>\n"
                   "(served at /api/v3/engine/<PATH>). See docs/plugins.md.",
        .opts = cli_create_trigger_opts,
        .run = cli_create_trigger,
    },
    {
        .group = "update",
        .name = "trigger",
        .usage = "update trigger [OPTIONS] --database <NAME> --trigger-name <NAME> --path <PATH>",
        .max_positional = 0,
        .summary = "Replace the plugin code of a trigger (a file or a directory)",
        .opts = cli_update_trigger_opts,
        .run = cli_update_trigger,
    },
    {
        .group = "enable",
        .name = "trigger",
        .usage = "enable trigger [OPTIONS] --database <NAME> <TRIGGER_NAME>",
        .max_positional = 1,
        .summary = "Enable a trigger",
        .opts = cli_trigger_toggle_opts,
        .run = cli_enable_trigger,
    },
    {
        .group = "disable",
        .name = "trigger",
        .usage = "disable trigger [OPTIONS] --database <NAME> <TRIGGER_NAME>",
        .max_positional = 1,
        .summary = "Disable a trigger",
        .opts = cli_trigger_toggle_opts,
        .run = cli_disable_trigger,
    },
    {
        .group = "delete",
        .name = "trigger",
        .usage = "delete trigger [OPTIONS] --database <NAME> <TRIGGER_NAME>",
        .max_positional = 1,
        .summary = "Delete a trigger (an enabled one only with --force)",
        .opts = cli_delete_trigger_opts,
        .run = cli_delete_trigger,
    },
    {
        .group = "show",
        .name = "plugins",
        .usage = "show plugins [OPTIONS]",
        .max_positional = 0,
        .summary = "List the plugin files of triggers",
        .opts = cli_show_plugins_opts,
        .run = cli_show_plugins,
    },
    {
        .group = "test",
        .name = "wal_plugin",
        .usage = "test wal_plugin [OPTIONS] --database <NAME> (--lp <LP> | --file <FILE>) <PLUGIN>",
        .max_positional = 1,
        .summary = "Dry-run a write plugin on line protocol (nothing is written)",
        .details = "Prints the plugin's log lines, the lines it would write, and errors.",
        .opts = cli_test_wal_opts,
        .run = cli_test_wal_plugin,
    },
    {
        .group = "test",
        .name = "schedule_plugin",
        .usage = "test schedule_plugin [OPTIONS] --database <NAME> <PLUGIN>",
        .max_positional = 1,
        .summary = "Dry-run a scheduled plugin once (nothing is written)",
        .details = "Prints the call time, the plugin's log lines, the lines it would write,\n"
                   "and errors.",
        .opts = cli_test_schedule_opts,
        .run = cli_test_schedule_plugin,
    },
    {0},
};

/* The verbs that take a noun ("create database"), with their one-line summaries. */
static const struct {
    const char *name, *summary;
} groups[] = {
    {"create", "Create a resource"},
    {"show", "List resources"},
    {"update", "Change a resource"},
    {"delete", "Delete a resource"},
    {"enable", "Enable a resource"},
    {"disable", "Disable a resource"},
    {"test", "Test a plugin"},
};

static void print_main_help(FILE *f)
{
    fputs("vigil " VIGIL_VERSION ": a time-series database for industrial monitoring,\n"
          "wire-compatible with InfluxDB 3 Core\n\n"
          "Usage: vigil <COMMAND> [OPTIONS]\n\nCommands:\n",
          f);
    for (const cli_command *c = cli_commands; c->name; c++) {
        char words[64];
        if (c->group)
            snprintf(words, sizeof words, "%s %s", c->group, c->name);
        else if (c->alias)
            snprintf(words, sizeof words, "%s, %s", c->name, c->alias);
        else
            snprintf(words, sizeof words, "%s", c->name);
        fprintf(f, "  %-20s%s\n", words, c->summary);
    }
    fputs("\nOptions:\n  -h, --help          Print help\n"
          "  -V, --version       Print version\n\n"
          "Run 'vigil <COMMAND> --help' for the options of a command.\n",
          f);
}

static int group_index(const char *name)
{
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (strcmp(groups[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void print_group_help(int g, FILE *f)
{
    fprintf(f, "%s\n\nUsage: vigil %s <SUBCOMMAND> [OPTIONS]\n\nSubcommands:\n", groups[g].summary,
            groups[g].name);
    for (const cli_command *c = cli_commands; c->name; c++)
        if (c->group && strcmp(c->group, groups[g].name) == 0)
            fprintf(f, "  %-20s%s\n", c->name, c->summary);
    fprintf(f, "\nRun 'vigil %s <SUBCOMMAND> --help' for its options.\n", groups[g].name);
}

static const cli_command *find_command(const char *group, const char *name)
{
    for (const cli_command *c = cli_commands; c->name; c++) {
        bool same_group = group ? c->group && strcmp(c->group, group) == 0 : !c->group;
        if (same_group && (strcmp(c->name, name) == 0 || (c->alias && strcmp(c->alias, name) == 0)))
            return c;
    }
    return NULL;
}

static bool is_help(const char *s)
{
    return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0 || strcmp(s, "help") == 0;
}

static int run_command(const cli_command *cmd, int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(cmd, argc, argv, &a);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    rc = cmd->run(&a);
    cli_args_free(&a);
    fflush(stdout);
    return rc;
}

/* `vigil create ...`: the noun picks the row. */
static int run_group(int g, int argc, char **argv)
{
    const char *verb = groups[g].name;
    if (argc < 1 || argv[0][0] == '-') {
        if (argc >= 1 && is_help(argv[0])) {
            print_group_help(g, stdout);
            return CLI_EXIT_OK;
        }
        fprintf(stderr, "Error: 'vigil %s' needs a subcommand\n\n", verb);
        print_group_help(g, stderr);
        return CLI_EXIT_USAGE;
    }
    const cli_command *cmd = find_command(verb, argv[0]);
    if (!cmd) {
        fprintf(stderr, "Error: unknown subcommand '%s' for 'vigil %s'\n\n", argv[0], verb);
        print_group_help(g, stderr);
        return CLI_EXIT_USAGE;
    }
    return run_command(cmd, argc - 1, argv + 1);
}

/* `vigil help create database`, `vigil help write`. */
static int run_help(int argc, char **argv)
{
    if (argc == 0) {
        print_main_help(stdout);
        return CLI_EXIT_OK;
    }
    int g = group_index(argv[0]);
    const cli_command *cmd =
        g >= 0 && argc > 1 ? find_command(argv[0], argv[1]) : find_command(NULL, argv[0]);
    if (cmd && cmd->raw_main) {
        char *help_argv[] = {(char *)cmd->name, "--help", NULL};
        return cmd->raw_main(2, help_argv);
    }
    if (!cmd && g < 0) {
        fprintf(stderr, "Error: unknown command '%s'\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    if (cmd)
        cli_print_help(cmd, stdout);
    else
        print_group_help(g, stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_main_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *word = argv[1];
    if (strcmp(word, "-V") == 0 || strcmp(word, "--version") == 0 || strcmp(word, "version") == 0) {
        printf("vigil %s\n", VIGIL_VERSION);
        return CLI_EXIT_OK;
    }
    if (is_help(word))
        return run_help(argc - 2, argv + 2);
    const cli_command *cmd = find_command(NULL, word);
    if (cmd && cmd->raw_main)
        return cmd->raw_main(argc - 1, argv + 1);
    if (cmd)
        return run_command(cmd, argc - 2, argv + 2);
    int g = group_index(word);
    if (g >= 0)
        return run_group(g, argc - 2, argv + 2);
    if (word[0] == '-')
        fprintf(stderr, "Error: unknown option '%s'\n", word);
    else
        fprintf(stderr, "Error: unknown command '%s'\n", word);
    fputs("Run 'vigil --help' for the list of commands.\n", stderr);
    return CLI_EXIT_USAGE;
}
