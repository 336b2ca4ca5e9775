/*
 * http/admin.c: health, ping, database management (/api/v3/configure/database and
 * its retention_period sub-resource) and table deletes (/api/v3/configure/table).
 *
 * Deletes are soft, as in Core: the database or table is renamed and its name is free
 * again at once; its files go at `hard_delete_at` (never, now, default = now +
 * --hard-delete-default-duration, or an RFC 3339 time). `hard_delete=true` is a
 * shorthand for `hard_delete_at=now`. With `now`, the files are removed before the
 * answer (persist_purge); later times are handled by the server's background pass.
 */
#include "http_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_health(http_server *s, http_req *r, http_resp *out)
{
    http_resp_text(out, 200, "OK");
}

/* Prometheus text as Core serves it: its content type, ending in "# EOF". */
void http_metrics(http_server *s, http_req *r, http_resp *out)
{
    if (s->cfg.metrics)
        s->cfg.metrics(s->cfg.metrics_ctx, &out->body);
    vg_buf_puts(&out->body, "# EOF\n");
    if (out->body.oom) {
        http_resp_text(out, 500, "out of memory writing the metrics");
        return;
    }
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void http_ping(http_server *s, http_req *r, http_resp *out)
{
    char rid[37];
    http_uuid_v7(rid);
    out->status = 200;
    out->content_type = "application/json";
    vg_jw w;
    vg_jw_init(&w, &out->body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "product_name");
    vg_jw_str(&w, "Vigil");
    vg_jw_key(&w, "version");
    vg_jw_str(&w, s->cfg.version);
    vg_jw_key(&w, "revision");
    vg_jw_str(&w, s->cfg.revision ? s->cfg.revision : "unknown");
    vg_jw_key(&w, "process_id");
    vg_jw_str(&w, s->process_id);
    vg_jw_obj_end(&w);
    http_resp_add_header(out, "Request-Id", rid);
    http_resp_add_header(out, "X-Request-Id", rid);
    http_resp_add_header(out, "X-Influxdb-Build", "Core");
    http_resp_add_header(out, "X-Influxdb-Version", "3.10.0");
    http_resp_add_header(out, "X-Vigil-Version", s->cfg.version);
}

/* ---- listing ---- */

typedef struct db_row {
    const char *name;
    bool deleted;
} db_row;

static int cmp_db_row(const void *a, const void *b)
{
    const db_row *x = a, *y = b;
    if (x->deleted != y->deleted)
        return x->deleted ? 1 : -1;
    return strcmp(x->name, y->name);
}

static void pretty_rule(vg_buf *b, const size_t *w, int ncols)
{
    for (int c = 0; c < ncols; c++) {
        vg_buf_putc(b, '+');
        for (size_t k = 0; k < w[c] + 2; k++)
            vg_buf_putc(b, '-');
    }
    vg_buf_puts(b, "+\n");
}

static void pretty_cells(vg_buf *b, const size_t *w, const char **cells, int ncols)
{
    for (int c = 0; c < ncols; c++)
        vg_buf_printf(b, "| %-*s ", (int)w[c], cells[c]);
    vg_buf_puts(b, "|\n");
}

/* Renders rows of (name[, deleted]) in one of the query formats. */
static void render_db_rows(vg_buf *b, const char *fmt, const db_row *rows, size_t n,
                           bool with_deleted)
{
    int ncols = with_deleted ? 2 : 1;
    if (strcmp(fmt, "csv") == 0) {
        vg_buf_puts(b, with_deleted ? "iox::database,deleted\n" : "iox::database\n");
        for (size_t i = 0; i < n; i++) {
            vg_buf_puts(b, rows[i].name);
            if (with_deleted)
                vg_buf_puts(b, rows[i].deleted ? ",true" : ",false");
            vg_buf_putc(b, '\n');
        }
        return;
    }
    if (strcmp(fmt, "pretty") == 0) {
        size_t w[2] = {strlen("iox::database"), strlen("deleted")};
        for (size_t i = 0; i < n; i++)
            if (strlen(rows[i].name) > w[0])
                w[0] = strlen(rows[i].name);
        const char *head[2] = {"iox::database", "deleted"};
        pretty_rule(b, w, ncols);
        pretty_cells(b, w, head, ncols);
        pretty_rule(b, w, ncols);
        for (size_t i = 0; i < n; i++) {
            const char *cells[2] = {rows[i].name, rows[i].deleted ? "true" : "false"};
            pretty_cells(b, w, cells, ncols);
        }
        pretty_rule(b, w, ncols);
        return;
    }
    bool lines = strcmp(fmt, "jsonl") == 0 || strcmp(fmt, "json_lines") == 0;
    if (!lines)
        vg_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (!lines && i)
            vg_buf_putc(b, ',');
        vg_jw w;
        vg_jw_init(&w, b);
        vg_jw_obj_begin(&w);
        vg_jw_key(&w, "iox::database");
        vg_jw_str(&w, rows[i].name);
        if (with_deleted) {
            vg_jw_key(&w, "deleted");
            vg_jw_bool(&w, rows[i].deleted);
        }
        vg_jw_obj_end(&w);
        if (lines)
            vg_buf_putc(b, '\n');
    }
    if (!lines)
        vg_buf_putc(b, ']');
}

static const char *content_type_of(const char *fmt)
{
    if (strcmp(fmt, "csv") == 0)
        return "text/csv";
    if (strcmp(fmt, "pretty") == 0)
        return "text/plain; charset=utf-8";
    if (strcmp(fmt, "jsonl") == 0 || strcmp(fmt, "json_lines") == 0)
        return "application/jsonl";
    return "application/json";
}

void http_db_list(http_server *s, http_req *r, http_resp *out)
{
    const char *fmt = http_arg(r, "format");
    if (!fmt) {
        http_resp_text(out, 400, "serde error: missing field `format`");
        return;
    }
    if (strcmp(fmt, "json") && strcmp(fmt, "jsonl") && strcmp(fmt, "json_lines") &&
        strcmp(fmt, "csv") && strcmp(fmt, "pretty")) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "serde error: unknown variant `%.64s`, expected one of `json`, `jsonl`, "
                 "`csv`, `pretty`",
                 fmt);
        http_resp_text(out, 400, msg);
        return;
    }
    bool show_deleted;
    if (http_bool_arg(r, "show_deleted", false, &show_deleted, out) != VG_OK)
        return;
    catalog *cat = s->cfg.cat;
    catalog_read_lock(cat);
    uint32_t n;
    catalog_db **dbs = catalog_dbs(cat, &n);
    db_row *rows = vg_arena_alloc(&r->arena, (n ? n : 1) * sizeof *rows);
    size_t k = 0;
    for (uint32_t i = 0; rows && i < n; i++) {
        if (dbs[i]->deleted && !show_deleted)
            continue;
        char *name = vg_arena_strndup(&r->arena, dbs[i]->name, dbs[i]->name_len);
        if (!name)
            break;
        rows[k++] = (db_row){name, dbs[i]->deleted};
    }
    catalog_read_unlock(cat);
    if (!rows) {
        http_resp_text(out, 500, "out of memory");
        return;
    }
    qsort(rows, k, sizeof *rows, cmp_db_row);
    out->status = 200;
    out->content_type = content_type_of(fmt);
    render_db_rows(&out->body, fmt, rows, k, show_deleted);
}

/* ---- create / update / delete ---- */

/* Parses the JSON body and its "db" member; answers the error itself. */
static json_t *load_db_body(http_req *r, http_resp *out, const char **db)
{
    json_error_t je;
    json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
    char msg[400];
    if (!root) {
        snprintf(msg, sizeof msg, "serde json error: %s at line %d column %d", je.text, je.line,
                 je.column);
        http_resp_text(out, 400, msg);
        return NULL;
    }
    json_t *jdb = json_object_get(root, "db");
    if (!json_is_object(root) || !jdb) {
        http_resp_text(out, 400, "serde json error: missing field `db`");
        json_decref(root);
        return NULL;
    }
    if (!json_is_string(jdb)) {
        http_resp_text(out, 400, "serde json error: invalid type for `db`: expected a string");
        json_decref(root);
        return NULL;
    }
    *db = json_string_value(jdb);
    return root;
}

/* Reads "retention_period" (absent or null = none). */
static int retention_of(json_t *root, int64_t *ns, http_resp *out)
{
    json_t *rp = json_object_get(root, "retention_period");
    *ns = 0;
    if (!rp || json_is_null(rp))
        return VG_OK;
    vg_err e;
    if (!json_is_string(rp)) {
        http_resp_text(out, 400, "serde json error: invalid type for `retention_period`: "
                                 "expected a duration string such as \"30d\"");
        return VG_EINVAL;
    }
    const char *s = json_string_value(rp);
    if (vg_parse_duration(s, strlen(s), ns, &e) != VG_OK) {
        http_resp_text(out, 400, e.msg);
        return VG_EINVAL;
    }
    return VG_OK;
}

static void catalog_error(http_resp *out, int rc, const vg_err *e)
{
    switch (rc) {
    case VG_EEXISTS:
        http_resp_text(out, 409, "attempted to create a resource that already exists");
        break;
    case VG_ELIMIT: http_resp_json_error(out, 422, e->msg); break;
    case VG_EINVAL: http_resp_json_error(out, 400, e->msg); break;
    case VG_ENOTFOUND: http_resp_text(out, 404, e->msg); break;
    default: http_resp_text(out, 500, e->msg);
    }
}

void http_db_create(http_server *s, http_req *r, http_resp *out)
{
    const char *db;
    json_t *root = load_db_body(r, out, &db);
    if (!root)
        return;
    int64_t retention;
    vg_err e;
    if (retention_of(root, &retention, out) != VG_OK)
        goto done;
    int rc = catalog_validate_db_name(db, strlen(db), &e);
    if (rc == VG_OK) {
        catalog_write_lock(s->cfg.cat);
        catalog_db *created;
        rc = catalog_db_create(s->cfg.cat, db, strlen(db), retention, &created, &e);
        if (rc == VG_OK)
            rc = catalog_commit(s->cfg.cat, &e);
        catalog_write_unlock(s->cfg.cat);
    }
    if (rc != VG_OK)
        catalog_error(out, rc, &e);
    else
        out->status = 200;
done:
    json_decref(root);
}

static int set_retention(http_server *s, const char *db, int64_t retention, vg_err *e)
{
    catalog_write_lock(s->cfg.cat);
    int rc;
    catalog_db *d = catalog_db_find(s->cfg.cat, db, strlen(db));
    if (!d)
        rc = vg_err_set(e, VG_ENOTFOUND, "database not found: %s", db);
    else
        rc = catalog_db_set_retention(s->cfg.cat, d, retention, e);
    if (rc == VG_OK)
        rc = catalog_commit(s->cfg.cat, e);
    catalog_write_unlock(s->cfg.cat);
    return rc;
}

void http_db_update(http_server *s, http_req *r, http_resp *out)
{
    const char *db;
    json_t *root = load_db_body(r, out, &db);
    if (!root)
        return;
    int64_t retention;
    vg_err e;
    if (retention_of(root, &retention, out) == VG_OK) {
        int rc = set_retention(s, db, retention, &e);
        if (rc != VG_OK)
            catalog_error(out, rc, &e);
        else
            out->status = 200;
    }
    json_decref(root);
}

static const char *required_db_arg(http_req *r, http_resp *out)
{
    const char *db = http_arg(r, "db");
    if (!db)
        http_resp_text(out, 400, "serde error: missing field `db`");
    return db;
}

/* When the files of a deleted database or table go: 0 = never. Answers a 400 itself. */
static int hard_delete_time(http_server *s, http_req *r, int64_t *at, http_resp *out)
{
    bool now_flag;
    if (http_bool_arg(r, "hard_delete", false, &now_flag, out) != VG_OK)
        return VG_EINVAL;
    const char *when = http_arg(r, "hard_delete_at");
    int64_t now = vg_now_ns();
    vg_err e;
    if (now_flag || (when && strcmp(when, "now") == 0))
        *at = now;
    else if (!when || strcmp(when, "default") == 0)
        *at = now + s->cfg.hard_delete_default_ns;
    else if (strcmp(when, "never") == 0)
        *at = 0;
    else if (vg_parse_timestamp(when, strlen(when), at, &e) != VG_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "serde error: invalid hard_delete_at '%.64s': expected never, "
                 "now, default or an RFC 3339 time", when);
        http_resp_text(out, 400, msg);
        return VG_EINVAL;
    }
    if (*at != 0 && *at < 1)
        *at = 1; /* a time before 1970 still means "at once" */
    return VG_OK;
}

/* Removes the files of whatever is due now, so a hard delete is done when answered. */
static void purge_now(http_server *s, int64_t at)
{
    if (!s->cfg.persist || at == 0 || at > vg_now_ns())
        return;
    vg_err e;
    vg_err_clear(&e);
    if (persist_purge(s->cfg.persist, vg_now_ns(), NULL, &e) != VG_OK)
        VG_WARN("http", "hard delete: files not removed yet (the background pass retries): %s",
                e.msg);
}

void http_db_delete(http_server *s, http_req *r, http_resp *out)
{
    const char *db = required_db_arg(r, out);
    int64_t at;
    if (!db || hard_delete_time(s, r, &at, out) != VG_OK)
        return;
    vg_err e;
    int rc = ingest_delete_database(s->cfg.ingest, db, strlen(db), at, &e);
    if (rc != VG_OK) {
        catalog_error(out, rc, &e);
        return;
    }
    engine_forget_deleted_databases(s->cfg.engine); /* its triggers stop */
    purge_now(s, at);
    out->status = 200;
}

void http_table_delete(http_server *s, http_req *r, http_resp *out)
{
    const char *db = required_db_arg(r, out);
    if (!db)
        return;
    const char *table = http_arg(r, "table");
    if (!table) {
        http_resp_text(out, 400, "serde error: missing field `table`");
        return;
    }
    int64_t at;
    if (hard_delete_time(s, r, &at, out) != VG_OK)
        return;
    vg_err e;
    int rc = ingest_delete_table(s->cfg.ingest, db, table, at, &e);
    if (rc != VG_OK) {
        catalog_error(out, rc, &e);
        return;
    }
    purge_now(s, at);
    out->status = 200;
}

void http_db_retention_set(http_server *s, http_req *r, http_resp *out)
{
    const char *db = required_db_arg(r, out);
    if (!db)
        return;
    const char *d = http_arg(r, "duration");
    if (!d) {
        http_resp_text(out, 400, "serde error: missing field `duration`");
        return;
    }
    int64_t ns;
    vg_err e;
    if (vg_parse_duration(d, strlen(d), &ns, &e) != VG_OK) {
        http_resp_text(out, 400, e.msg);
        return;
    }
    int rc = set_retention(s, db, ns, &e);
    if (rc != VG_OK)
        catalog_error(out, rc, &e);
    else
        out->status = 204;
}

void http_db_retention_clear(http_server *s, http_req *r, http_resp *out)
{
    const char *db = required_db_arg(r, out);
    if (!db)
        return;
    vg_err e;
    int rc = set_retention(s, db, 0, &e);
    if (rc != VG_OK)
        catalog_error(out, rc, &e);
    else
        out->status = 204;
}
