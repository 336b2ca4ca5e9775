/* cli/database.c: `vigil create|show|update|delete database(s)` over
 * /api/v3/configure/database, and `vigil delete table` over /api/v3/configure/table.
 * Messages on success are Core's, word for word. */
#include "cli_int.h"

#include <string.h>

static const cli_opt opt_retention_create = {
    .name = "retention-period",
    .short_name = 'r',
    .metavar = "DURATION",
    .help = "Keep data this long, e.g. 30d, 12h, 1w (default: forever)",
};
static const cli_opt opt_retention_update = {
    .name = "retention-period",
    .short_name = 'r',
    .metavar = "DURATION",
    .help = "New retention period, e.g. 30d, or 'none' to keep data forever (required)",
};
static const cli_opt opt_show_deleted = {
    .name = "show-deleted",
    .help = "Include soft-deleted databases (with a 'deleted' column)",
};
static const cli_opt opt_yes = {
    .name = "yes",
    .short_name = 'y',
    .help = "Do not ask for confirmation (it is only asked on a terminal)",
};

const cli_opt *const cli_create_database_opts[] = {
    &cli_opt_host, &cli_opt_token, &cli_opt_database, &opt_retention_create, NULL,
};
const cli_opt *const cli_show_databases_opts[] = {
    &cli_opt_host, &cli_opt_token, &cli_opt_format, &opt_show_deleted, NULL,
};
const cli_opt *const cli_update_database_opts[] = {
    &cli_opt_host, &cli_opt_token, &cli_opt_database, &opt_retention_update, NULL,
};
static const cli_opt opt_hard_delete = {
    .name = "hard-delete",
    .metavar = "WHEN",
    .help = "When the data files are removed: now, never, default (after the server's "
            "--hard-delete-default-duration, 72h) or an RFC 3339 time [default: default]",
};
const cli_opt *const cli_delete_database_opts[] = {
    &cli_opt_host, &cli_opt_token, &cli_opt_database, &opt_hard_delete, &opt_yes, NULL,
};
const cli_opt *const cli_delete_table_opts[] = {
    &cli_opt_host, &cli_opt_token, &cli_opt_database, &opt_hard_delete, &opt_yes, NULL,
};

/* Checks a duration here, so a typo gets a precise message before any request. */
static bool valid_duration(const cli_args *a, const char *d)
{
    int64_t ns;
    vg_err e = {0};
    if (vg_parse_duration(d, strlen(d), &ns, &e) == VG_OK)
        return true;
    cli_usage_error(a->cmd, "bad --retention-period '%s': %s", d, e.msg);
    return false;
}

/* Sends {"db": name, "retention_period": ...} with `method`; retention NULL omits the
 * member, "none" sends null (clears it). Returns the status or -1 on a transport error. */
static int send_db_json(client *c, const char *method, const char *db, const char *retention,
                        client_response *r)
{
    vg_buf body;
    vg_buf_init(&body);
    vg_jw w;
    vg_jw_init(&w, &body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "db");
    vg_jw_str(&w, db);
    if (retention) {
        vg_jw_key(&w, "retention_period");
        if (strcmp(retention, "none") == 0)
            vg_jw_null(&w);
        else
            vg_jw_str(&w, retention);
    }
    vg_jw_obj_end(&w);
    client_request req = {
        .method = method,
        .path = "/api/v3/configure/database",
        .content_type = "application/json",
        .body = body.data,
        .body_len = body.len,
    };
    int rc = body.oom ? cli_fail("out of memory") : cli_send(c, &req, r);
    vg_buf_free(&body);
    return rc == CLI_EXIT_OK ? r->status : -1;
}

static bool ok_status(int status)
{
    return status >= 200 && status < 300;
}

int cli_create_database(const cli_args *a)
{
    const char *db = cli_database_arg(a);
    if (!db)
        return CLI_EXIT_USAGE;
    const char *retention = cli_get(a, "retention-period");
    if (retention && !valid_duration(a, retention))
        return CLI_EXIT_USAGE;
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    client_response r;
    client_response_init(&r);
    int status = send_db_json(c, "POST", db, retention, &r);
    int rc = CLI_EXIT_FAIL;
    if (ok_status(status)) {
        printf("Database \"%s\" created successfully\n", db);
        rc = CLI_EXIT_OK;
    } else if (status > 0) {
        rc = cli_server_error(&r, "cannot create database \"%s\"", db);
    }
    client_response_free(&r);
    client_free(c);
    return rc;
}

int cli_update_database(const cli_args *a)
{
    const char *db = cli_database_arg(a);
    if (!db)
        return CLI_EXIT_USAGE;
    const char *retention = cli_get(a, "retention-period");
    if (!retention)
        return cli_usage_error(a->cmd, "--retention-period is required for update database");
    if (strcmp(retention, "none") != 0 && !valid_duration(a, retention))
        return CLI_EXIT_USAGE;
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    client_response r;
    client_response_init(&r);
    int status = send_db_json(c, "PUT", db, retention, &r);
    int rc = CLI_EXIT_FAIL;
    if (ok_status(status)) {
        printf("Database \"%s\" updated successfully\n", db);
        rc = CLI_EXIT_OK;
    } else if (status > 0) {
        rc = cli_server_error(&r, "cannot update database \"%s\"", db);
    }
    client_response_free(&r);
    client_free(c);
    return rc;
}

/* Checks --hard-delete here, so a typo gets a precise message before any request. */
static bool valid_hard_delete(const cli_args *a, const char *when)
{
    int64_t ns;
    vg_err e = {0};
    if (!when || !strcmp(when, "now") || !strcmp(when, "never") || !strcmp(when, "default") ||
        vg_parse_timestamp(when, strlen(when), &ns, &e) == VG_OK)
        return true;
    cli_usage_error(a->cmd, "bad --hard-delete '%s': expected now, never, default or an RFC 3339 "
                    "time", when);
    return false;
}

/* Sends DELETE path?db=..[&table=..][&hard_delete_at=..]; the HTTP status, or -1. */
static int send_delete(const cli_args *a, const char *path, const char *db, const char *table,
                       client_response *r)
{
    client *c = cli_connect(a);
    if (!c)
        return -1;
    vg_buf q;
    vg_buf_init(&q);
    client_query_add(&q, "db", db);
    if (table)
        client_query_add(&q, "table", table);
    const char *when = cli_get(a, "hard-delete");
    if (when)
        client_query_add(&q, "hard_delete_at", when);
    client_request req = {.method = "DELETE", .path = path, .query = q.data};
    int rc = q.oom ? cli_fail("out of memory") : cli_send(c, &req, r);
    vg_buf_free(&q);
    client_free(c);
    return rc == CLI_EXIT_OK ? r->status : -1;
}

int cli_delete_database(const cli_args *a)
{
    const char *db = cli_database_arg(a);
    if (!db || !valid_hard_delete(a, cli_get(a, "hard-delete")))
        return CLI_EXIT_USAGE;
    char question[VG_LIMIT_DB_NAME_BYTES + 64];
    snprintf(question, sizeof question, "Are you sure you want to delete \"%s\"?", db);
    if (!cli_confirm(cli_flag(a, "yes"), question))
        return cli_fail("Cannot proceed without confirmation");
    client_response r;
    client_response_init(&r);
    int status = send_delete(a, "/api/v3/configure/database", db, NULL, &r);
    int rc = CLI_EXIT_FAIL;
    if (ok_status(status)) {
        printf("Database \"%s\" deleted successfully\n", db);
        rc = CLI_EXIT_OK;
    } else if (status > 0) {
        rc = cli_server_error(&r, "cannot delete database \"%s\"", db);
    }
    client_response_free(&r);
    return rc;
}

int cli_delete_table(const cli_args *a)
{
    const char *db = cli_get(a, "database");
    if (!db || !*db)
        return cli_usage_error(a->cmd, "no database given: pass --database/-d or set "
                                       "VIGIL_DATABASE_NAME");
    if (a->npos < 1 || !*a->pos[0])
        return cli_usage_error(a->cmd, "no table name given");
    const char *table = a->pos[0];
    if (!valid_hard_delete(a, cli_get(a, "hard-delete")))
        return CLI_EXIT_USAGE;
    char question[1100];
    snprintf(question, sizeof question,
             "Are you sure you want to delete table \"%.511s\".\"%.511s\"?", db, table);
    if (!cli_confirm(cli_flag(a, "yes"), question))
        return cli_fail("Cannot proceed without confirmation");
    client_response r;
    client_response_init(&r);
    int status = send_delete(a, "/api/v3/configure/table", db, table, &r);
    int rc = CLI_EXIT_FAIL;
    if (ok_status(status)) {
        printf("Table \"%s\".\"%s\" deleted successfully\n", db, table);
        rc = CLI_EXIT_OK;
    } else if (status > 0) {
        rc = cli_server_error(&r, "cannot delete table \"%s\".\"%s\"", db, table);
    }
    client_response_free(&r);
    return rc;
}

/* Columns of an empty listing, so even no databases prints a proper table. */
static const char *const db_cols[] = {"iox::database", NULL};
static const char *const db_cols_deleted[] = {"iox::database", "deleted", NULL};

int cli_show_databases(const cli_args *a)
{
    const char *format = cli_get(a, "format");
    bool pretty = strcmp(format, "pretty") == 0;
    if (!pretty && strcmp(format, "json") != 0 && strcmp(format, "jsonl") != 0 &&
        strcmp(format, "csv") != 0)
        return cli_usage_error(a->cmd, "unknown format '%s' (expected pretty, json, jsonl or csv)",
                               format);
    bool deleted = cli_flag(a, "show-deleted");
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    vg_buf q;
    vg_buf_init(&q);
    /* The table is drawn here from JSON, so it looks the same whatever the server. */
    client_query_add(&q, "format", pretty ? "json" : format);
    if (deleted)
        client_query_add(&q, "show_deleted", "true");
    client_request req = {.method = "GET", .path = "/api/v3/configure/database", .query = q.data};
    client_response r;
    client_response_init(&r);
    int rc = q.oom ? cli_fail("out of memory") : cli_send(c, &req, &r);
    if (rc == CLI_EXIT_OK && !ok_status(r.status)) {
        rc = cli_server_error(&r, "cannot list databases");
    } else if (rc == CLI_EXIT_OK && pretty) {
        vg_err e = {0};
        if (cli_print_table(r.body.data ? r.body.data : "", r.body.len,
                            deleted ? db_cols_deleted : db_cols, stdout, &e) != VG_OK)
            rc = cli_fail("%s", e.msg);
    } else if (rc == CLI_EXIT_OK) {
        cli_print_body(&r);
    }
    client_response_free(&r);
    vg_buf_free(&q);
    client_free(c);
    return rc;
}
