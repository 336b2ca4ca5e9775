/* cli/query.c: `vigil query`: sends one SQL query (an argument or --file) to
 * /api/v3/query_sql in the chosen format and prints the server's body as it is, to
 * standard output or to --output. The pretty table is drawn by the server. Parquet is
 * binary: it goes to --output or to a redirected standard output, never a terminal. */
#include "cli_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* The shared --format plus parquet, which only query offers. */
static const cli_opt opt_format = {
    .name = "format",
    .metavar = "FORMAT",
    .def = "pretty",
    .help = "Output format: pretty, json, jsonl, csv or parquet (binary: use --output)",
};
static const cli_opt opt_file = {
    .name = "file",
    .short_name = 'f',
    .metavar = "FILE",
    .help = "Read the query from FILE ('-' for standard input)",
};
static const cli_opt opt_output = {
    .name = "output",
    .short_name = 'o',
    .metavar = "FILE",
    .help = "Write the result to FILE instead of standard output",
};
static const cli_opt opt_language = {
    .name = "language",
    .short_name = 'l',
    .metavar = "LANGUAGE",
    .def = "sql",
    .help = "Query language: sql (influxql is not supported yet)",
};

const cli_opt *const cli_query_opts[] = {
    &cli_opt_database, &cli_opt_host, &cli_opt_token, &opt_format,
    &opt_file,         &opt_output,   &opt_language,  NULL,
};

static bool known_format(const char *f)
{
    return strcmp(f, "pretty") == 0 || strcmp(f, "json") == 0 || strcmp(f, "jsonl") == 0 ||
           strcmp(f, "csv") == 0 || strcmp(f, "parquet") == 0;
}

/* Binary output on a terminal is garbage on the screen and a file nobody can use:
 * refused before the query runs. */
static int check_binary_output(const cli_args *a, bool binary)
{
    if (!binary || cli_get(a, "output") || !isatty(STDOUT_FILENO))
        return CLI_EXIT_OK;
    return cli_usage_error(a->cmd, "format 'parquet' is binary and standard output is a "
                                   "terminal: write it to a file with --output FILE (or "
                                   "redirect standard output)");
}

/* The query text: the argument, or the contents of --file. */
static int read_query(const cli_args *a, vg_buf *q)
{
    const char *file = cli_get(a, "file");
    if (file && a->npos > 0)
        return cli_usage_error(a->cmd, "give the query either as an argument or with --file, "
                                       "not both");
    if (a->npos > 0) {
        vg_buf_puts(q, a->pos[0]);
    } else if (file && strcmp(file, "-") == 0) {
        if (cli_read_stdin(q) != CLI_EXIT_OK)
            return CLI_EXIT_FAIL;
    } else if (file) {
        vg_err e = {0};
        if (vg_read_file(file, q, &e) != VG_OK)
            return cli_fail("cannot read the query: %s", e.msg);
    } else {
        return cli_usage_error(a->cmd, "no query given: pass it as an argument or with --file");
    }
    if (q->oom)
        return cli_fail("out of memory");
    return CLI_EXIT_OK;
}

/* Text goes to standard output with a final newline; binary bytes exactly as sent. */
static int write_output(const char *path, const client_response *r, bool binary)
{
    if (!path && binary) {
        size_t n = r->body.len ? fwrite(r->body.data, 1, r->body.len, stdout) : 0;
        return n == r->body.len && fflush(stdout) == 0
                   ? CLI_EXIT_OK
                   : cli_fail("cannot write the result: %s", strerror(errno));
    }
    if (!path) {
        cli_print_body(r);
        return CLI_EXIT_OK;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_fail("cannot write %s: %s", path, strerror(errno));
    size_t n = r->body.len ? fwrite(r->body.data, 1, r->body.len, f) : 0;
    bool ok = n == r->body.len;
    ok = fclose(f) == 0 && ok;
    return ok ? CLI_EXIT_OK : cli_fail("cannot write %s: %s", path, strerror(errno));
}

static int send_query(const cli_args *a, client *c, const char *db, const vg_buf *q,
                      client_response *r)
{
    vg_buf body;
    vg_buf_init(&body);
    vg_jw w;
    vg_jw_init(&w, &body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "db");
    vg_jw_str(&w, db);
    vg_jw_key(&w, "q");
    vg_jw_strn(&w, q->data ? q->data : "", q->len);
    vg_jw_key(&w, "format");
    vg_jw_str(&w, cli_get(a, "format"));
    vg_jw_obj_end(&w);
    client_request req = {
        .method = "POST",
        .path = "/api/v3/query_sql",
        .content_type = "application/json",
        .body = body.data,
        .body_len = body.len,
    };
    int rc = body.oom ? cli_fail("out of memory") : cli_send(c, &req, r);
    vg_buf_free(&body);
    return rc;
}

int cli_query(const cli_args *a)
{
    const char *db = cli_get(a, "database");
    if (!db || !*db)
        return cli_usage_error(a->cmd, "no database given: use --database/-d NAME or set "
                                       "VIGIL_DATABASE_NAME");
    const char *format = cli_get(a, "format");
    if (!known_format(format))
        return cli_usage_error(
            a->cmd, "unknown format '%s' (expected pretty, json, jsonl, csv or parquet)", format);
    const char *lang = cli_get(a, "language");
    if (strcmp(lang, "sql") != 0)
        return cli_usage_error(a->cmd, "unknown language '%s' (only sql is supported yet)", lang);
    bool binary = strcmp(format, "parquet") == 0;
    if (check_binary_output(a, binary) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    vg_buf q;
    vg_buf_init(&q);
    int rc = read_query(a, &q);
    client *c = rc == CLI_EXIT_OK ? cli_connect(a) : NULL;
    if (rc == CLI_EXIT_OK && !c)
        rc = CLI_EXIT_USAGE;
    client_response r;
    client_response_init(&r);
    if (rc == CLI_EXIT_OK)
        rc = send_query(a, c, db, &q, &r);
    if (rc == CLI_EXIT_OK && r.status != 200) {
        vg_buf msg;
        vg_buf_init(&msg);
        cli_server_message(&r, &msg);
        rc = cli_fail("%s", msg.data ? msg.data : "");
        vg_buf_free(&msg);
    } else if (rc == CLI_EXIT_OK) {
        rc = write_output(cli_get(a, "output"), &r, binary);
    }
    client_response_free(&r);
    client_free(c);
    vg_buf_free(&q);
    return rc;
}
