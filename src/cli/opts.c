/* cli/opts.c: the one option parser of the `vigil` client commands, and --help.
 *
 * Accepted forms: `--name value`, `--name=value`, `-x value`, `-xvalue`, boolean
 * `--flag` (or `--flag=true|false`), `--` ends options. Options may come before,
 * between or after positional arguments. An unset option takes its first non-empty
 * environment variable, then its default. */
#include "cli_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const cli_opt cli_opt_host = {
    .name = "host",
    .short_name = 'H',
    .metavar = "URL",
    .env = {"VIGIL_HOST_URL", "INFLUXDB3_HOST_URL"},
    .def = "http://127.0.0.1:8181",
    .help = "URL of the Vigil server (http only)",
};

/* Output format of the commands that print rows (show databases, query). */
const cli_opt cli_opt_format = {
    .name = "format",
    .metavar = "FORMAT",
    .def = "pretty",
    .help = "Output format: pretty, json, jsonl or csv",
};
const cli_opt cli_opt_token = {
    .name = "token",
    .metavar = "TOKEN",
    .env = {"VIGIL_AUTH_TOKEN", "INFLUXDB3_AUTH_TOKEN"},
    .help = "Token sent as 'Authorization: Bearer <TOKEN>'",
};

const cli_opt cli_opt_database = {
    .name = "database",
    .short_name = 'd',
    .metavar = "NAME",
    .env = {"VIGIL_DATABASE_NAME", "INFLUXDB3_DATABASE_NAME"},
    .help = "Name of the database",
};

void cli_command_title(const cli_command *cmd, char *out, size_t n)
{
    if (cmd->group)
        snprintf(out, n, "vigil %s %s", cmd->group, cmd->name);
    else
        snprintf(out, n, "vigil %s", cmd->name);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    char title[64];
    cli_command_title(cmd, title, sizeof title);
    va_list ap;
    va_start(ap, fmt);
    fputs("Error: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun '%s --help' for usage.\n", title);
    return CLI_EXIT_USAGE;
}

static int find_long(const cli_command *cmd, const char *name, size_t len)
{
    for (int i = 0; cmd->opts[i]; i++)
        if (strlen(cmd->opts[i]->name) == len && memcmp(cmd->opts[i]->name, name, len) == 0)
            return i;
    return -1;
}

static int find_short(const cli_command *cmd, char c)
{
    for (int i = 0; cmd->opts[i]; i++)
        if (cmd->opts[i]->short_name == c)
            return i;
    return -1;
}

static bool is_bool_text(const char *v)
{
    return !strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "1") || !strcmp(v, "0") ||
           !strcmp(v, "yes") || !strcmp(v, "no");
}

/* Stores the value of option i. `inline_val` is the part after '=' (or after a short
 * option letter); otherwise a value option takes the next argument. */
static int take_value(const cli_command *cmd, int i, const char *spelled, const char *inline_val,
                      int argc, char **argv, int *k, cli_args *a)
{
    const cli_opt *o = cmd->opts[i];
    if (!o->metavar) {
        if (inline_val && !is_bool_text(inline_val))
            return cli_usage_error(cmd, "option '%s' is a flag; it takes no value (got '%s')",
                                   spelled, inline_val);
        a->val[i] = inline_val ? inline_val : "true";
        return CLI_EXIT_OK;
    }
    if (inline_val) {
        a->val[i] = inline_val;
        return CLI_EXIT_OK;
    }
    if (*k + 1 >= argc)
        return cli_usage_error(cmd, "option '%s' needs a value <%s>", spelled, o->metavar);
    a->val[i] = argv[++*k];
    return CLI_EXIT_OK;
}

static int parse_long(const cli_command *cmd, int argc, char **argv, int *k, cli_args *a)
{
    const char *arg = argv[*k] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len == 4 && memcmp(arg, "help", 4) == 0)
        return -1;
    int i = find_long(cmd, arg, len);
    if (i < 0)
        return cli_usage_error(cmd, "unknown option '--%.*s'", (int)len, arg);
    char spelled[80];
    snprintf(spelled, sizeof spelled, "--%s", cmd->opts[i]->name);
    return take_value(cmd, i, spelled, eq ? eq + 1 : NULL, argc, argv, k, a);
}

static int parse_short(const cli_command *cmd, int argc, char **argv, int *k, cli_args *a)
{
    const char *arg = argv[*k];
    if (arg[1] == 'h' && arg[2] == '\0')
        return -1;
    int i = find_short(cmd, arg[1]);
    if (i < 0)
        return cli_usage_error(cmd, "unknown option '-%c'", arg[1]);
    char spelled[8];
    snprintf(spelled, sizeof spelled, "-%c", arg[1]);
    const char *rest = arg[2] == '=' ? arg + 3 : arg[2] ? arg + 2 : NULL;
    return take_value(cmd, i, spelled, rest, argc, argv, k, a);
}

static void apply_env_and_defaults(const cli_command *cmd, cli_args *a)
{
    for (int i = 0; cmd->opts[i]; i++) {
        const cli_opt *o = cmd->opts[i];
        for (int j = 0; j < 2 && !a->val[i] && o->env[j]; j++) {
            const char *v = getenv(o->env[j]);
            if (v && *v)
                a->val[i] = v;
        }
        if (!a->val[i])
            a->val[i] = o->def;
    }
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->pos = vg_calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->pos) {
        fputs("Error: out of memory\n", stderr);
        return CLI_EXIT_FAIL;
    }
    bool only_pos = false;
    for (int k = 0; k < argc; k++) {
        const char *arg = argv[k];
        int rc = CLI_EXIT_OK;
        if (only_pos || arg[0] != '-' || arg[1] == '\0')
            a->pos[a->npos++] = argv[k];
        else if (strcmp(arg, "--") == 0)
            only_pos = true;
        else if (arg[1] == '-')
            rc = parse_long(cmd, argc, argv, &k, a);
        else
            rc = parse_short(cmd, argc, argv, &k, a);
        if (rc == -1)
            cli_print_help(cmd, stdout);
        if (rc != CLI_EXIT_OK) {
            cli_args_free(a);
            return rc;
        }
    }
    if (cmd->max_positional >= 0 && a->npos > cmd->max_positional) {
        int rc = cli_usage_error(cmd, "unexpected argument '%s'", a->pos[cmd->max_positional]);
        cli_args_free(a);
        return rc;
    }
    apply_env_and_defaults(cmd, a);
    return CLI_EXIT_OK;
}

void cli_args_free(cli_args *a)
{
    vg_free(a->pos);
    a->pos = NULL;
    a->npos = 0;
}

const char *cli_get(const cli_args *a, const char *name)
{
    int i = find_long(a->cmd, name, strlen(name));
    return VG_NEVER(i < 0) ? NULL : a->val[i];
}

bool cli_flag(const cli_args *a, const char *name)
{
    const char *v = cli_get(a, name);
    return v && strcmp(v, "false") != 0 && strcmp(v, "0") != 0 && strcmp(v, "no") != 0;
}

/* Help text column and width: clap's long-help layout, wrapped to fit 100 columns. */
#define HELP_INDENT 10
#define HELP_WIDTH 88

/* Prints text indented, wrapped at spaces. */
static void print_wrapped(const char *text, FILE *f)
{
    const char *s = text;
    while (*s) {
        size_t n = strlen(s);
        if (n > HELP_WIDTH) {
            n = HELP_WIDTH;
            while (n > 0 && s[n] != ' ')
                n--;
            if (n == 0)
                n = strcspn(s, " ");
        }
        fprintf(f, "%*s%.*s\n", HELP_INDENT, "", (int)n, s);
        s += n;
        while (*s == ' ')
            s++;
    }
}

static void print_option(const cli_opt *o, FILE *f)
{
    char spec[96];
    int n = o->short_name ? snprintf(spec, sizeof spec, "-%c, --%s", o->short_name, o->name)
                          : snprintf(spec, sizeof spec, "    --%s", o->name);
    if (o->metavar && n > 0 && (size_t)n < sizeof spec)
        snprintf(spec + n, sizeof spec - (size_t)n, " <%s>", o->metavar);
    fprintf(f, "  %s\n", spec);
    print_wrapped(o->help, f);
    if (!o->def && !o->env[0])
        return;
    fputs("          ", f);
    if (o->def)
        fprintf(f, "[default: %s]%s", o->def, o->env[0] ? " " : "");
    if (o->env[0])
        fprintf(f, "[env: %s%s%s]", o->env[0], o->env[1] ? ", " : "", o->env[1] ? o->env[1] : "");
    fputc('\n', f);
}

void cli_print_help(const cli_command *cmd, FILE *f)
{
    fprintf(f, "%s\n\nUsage: vigil %s\n", cmd->summary, cmd->usage);
    if (cmd->details)
        fprintf(f, "\n%s\n", cmd->details);
    fputs("\nOptions:\n", f);
    for (int i = 0; cmd->opts[i]; i++)
        print_option(cmd->opts[i], f);
    fputs("  -h, --help\n          Print help\n", f);
}
