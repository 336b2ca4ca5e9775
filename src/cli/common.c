/* cli/common.c: what every client command shares: connecting, sending, turning
 * server errors into one clear line, confirmation prompts, and table output. */
#include "cli_int.h"
#include "server/server.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("Error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_FAIL;
}

client *cli_connect(const cli_args *a)
{
    client_config cfg = {
        .url = cli_get(a, "host"),
        .token = cli_get(a, "token"),
        .user_agent = "vigil/" VIGIL_VERSION,
    };
    client *c = NULL;
    vg_err e = {0};
    if (client_new(&cfg, &c, &e) != VG_OK) {
        cli_usage_error(a->cmd, "%s", e.msg);
        return NULL;
    }
    return c;
}

const char *cli_database_arg(const cli_args *a)
{
    const char *db = a->npos > 0 ? a->pos[0] : cli_get(a, "database");
    if (!db || !*db) {
        cli_usage_error(a->cmd, "no database name given: pass it as an argument, with "
                                "--database/-d, or in VIGIL_DATABASE_NAME");
        return NULL;
    }
    return db;
}

int cli_send(client *c, const client_request *req, client_response *r)
{
    vg_err e = {0};
    if (client_do(c, req, r, &e) != VG_OK)
        return cli_fail("%s", e.msg);
    return CLI_EXIT_OK;
}

/* Trims trailing whitespace so a message ends where its text does. */
static void put_trimmed(vg_buf *out, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    vg_buf_append(out, s, n);
}

void cli_server_message(const client_response *r, vg_buf *out)
{
    json_t *root = r->body.len ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
    const char *msg = NULL;
    if (json_is_object(root)) {
        json_t *m = json_object_get(root, "error");
        if (!json_is_string(m))
            m = json_object_get(root, "message"); /* the v2 API's {"code","message"} */
        msg = json_is_string(m) ? json_string_value(m) : NULL;
    }
    if (msg)
        put_trimmed(out, msg, strlen(msg));
    else if (r->body.len)
        put_trimmed(out, r->body.data, r->body.len);
    else
        vg_buf_puts(out, r->reason[0] ? r->reason : "no message");
    json_decref(root);
}

int cli_server_error(const client_response *r, const char *what_fmt, ...)
{
    vg_buf msg;
    vg_buf_init(&msg);
    cli_server_message(r, &msg);
    va_list ap;
    va_start(ap, what_fmt);
    fputs("Error: ", stderr);
    vfprintf(stderr, what_fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s (HTTP %d)\n", msg.data ? msg.data : "", r->status);
    vg_buf_free(&msg);
    return CLI_EXIT_FAIL;
}

bool cli_confirm(bool yes, const char *question)
{
    /* Scripts and pipes cannot answer; asking them would only hang. */
    if (yes || !isatty(STDIN_FILENO))
        return true;
    fprintf(stderr, "%s Enter 'yes' or 'y' to confirm: ", question);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return strcasecmp(line, "yes") == 0 || strcasecmp(line, "y") == 0;
}

void cli_print_body(const client_response *r)
{
    if (r->body.len == 0)
        return;
    fwrite(r->body.data, 1, r->body.len, stdout);
    if (r->body.data[r->body.len - 1] != '\n')
        fputc('\n', stdout);
}

/* ---- pretty tables ---- */

/* Terminal columns taken by a UTF-8 string: one per code point (no East Asian
 * width tables; good enough for names and numbers). */
static size_t display_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* The text of one cell: strings as they are, null as empty, other JSON as JSON. */
static char *cell_text(json_t *v)
{
    if (!v || json_is_null(v))
        return vg_strdup("");
    if (json_is_string(v))
        return vg_strdup(json_string_value(v));
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
    char *copy = vg_strdup(s ? s : "");
    free(s);
    return copy;
}

static void print_rule(const size_t *widths, size_t ncols, FILE *out)
{
    fputc('+', out);
    for (size_t c = 0; c < ncols; c++) {
        for (size_t i = 0; i < widths[c] + 2; i++)
            fputc('-', out);
        fputc('+', out);
    }
    fputc('\n', out);
}

static void print_row(const char *const *cells, const size_t *widths, size_t ncols, FILE *out)
{
    fputc('|', out);
    for (size_t c = 0; c < ncols; c++)
        fprintf(out, " %s%*s |", cells[c], (int)(widths[c] - display_width(cells[c])), "");
    fputc('\n', out);
}

/* Column names in order of first appearance across the rows. */
static json_t *collect_columns(json_t *rows, const char *const *empty_cols)
{
    json_t *cols = json_array();
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        for (void *it = json_object_iter(row); it; it = json_object_iter_next(row, it)) {
            const char *key = json_object_iter_key(it);
            bool seen = false;
            for (size_t j = 0; j < json_array_size(cols) && !seen; j++)
                seen = strcmp(json_string_value(json_array_get(cols, j)), key) == 0;
            if (!seen)
                json_array_append_new(cols, json_string(key));
        }
    }
    for (size_t j = 0; json_array_size(rows) == 0 && empty_cols && empty_cols[j]; j++)
        json_array_append_new(cols, json_string(empty_cols[j]));
    return cols;
}

int cli_print_table(const char *json, size_t len, const char *const *empty_cols, FILE *out,
                    vg_err *e)
{
    json_error_t jerr;
    json_t *rows = json_loadb(json, len, 0, &jerr);
    if (!json_is_array(rows)) {
        json_decref(rows);
        return vg_err_set(e, VG_EINVAL, "the server sent a result that is not a JSON array%s%s",
                          rows ? "" : ": ", rows ? "" : jerr.text);
    }
    json_t *cols = collect_columns(rows, empty_cols);
    size_t ncols = json_array_size(cols), nrows = json_array_size(rows);
    if (ncols == 0) { /* nothing at all: the empty table, as Arrow draws it */
        fputs("++\n++\n", out);
        json_decref(cols);
        json_decref(rows);
        return VG_OK;
    }
    /* cells[0] is the header row. */
    char **cells = vg_calloc((nrows + 1) * (ncols ? ncols : 1), sizeof *cells);
    size_t *widths = vg_calloc(ncols ? ncols : 1, sizeof *widths);
    int rc = VG_OK;
    if (!cells || !widths) {
        rc = vg_err_set(e, VG_ENOMEM, "out of memory formatting the table");
        goto free_all;
    }
    for (size_t c = 0; c < ncols; c++) {
        const char *name = json_string_value(json_array_get(cols, c));
        cells[c] = vg_strdup(name);
        for (size_t r = 0; r < nrows; r++)
            cells[(r + 1) * ncols + c] = cell_text(json_object_get(json_array_get(rows, r), name));
    }
    for (size_t k = 0; k < (nrows + 1) * ncols; k++) {
        if (!cells[k]) {
            rc = vg_err_set(e, VG_ENOMEM, "out of memory formatting the table");
            goto free_all;
        }
        size_t w = display_width(cells[k]);
        if (w > widths[k % ncols])
            widths[k % ncols] = w;
    }
    print_rule(widths, ncols, out);
    print_row((const char *const *)cells, widths, ncols, out);
    print_rule(widths, ncols, out);
    for (size_t r = 0; r < nrows; r++)
        print_row((const char *const *)cells + (r + 1) * ncols, widths, ncols, out);
    print_rule(widths, ncols, out);

free_all:
    for (size_t k = 0; cells && k < (nrows + 1) * ncols; k++)
        vg_free(cells[k]);
    vg_free(cells);
    vg_free(widths);
    json_decref(cols);
    json_decref(rows);
    return rc;
}

int cli_read_stdin(vg_buf *b)
{
    char tmp[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cli_fail("reading standard input: %s", strerror(errno));
        if (n == 0)
            break;
        vg_buf_append(b, tmp, (size_t)n);
    }
    return b->oom ? cli_fail("out of memory reading standard input") : CLI_EXIT_OK;
}
