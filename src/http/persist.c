/* http/persist.c: POST /api/v3/persist (admin), which persists the write buffer to
 * Parquet now (`vigil flush`), and POST /api/v3/compact (admin, a Vigil extension),
 * which runs compaction now over every day that is due. `db` is optional: a snapshot always covers every
 * database (one seal, one catalog commit), so naming one only checks it exists. The
 * answer reports what the snapshot wrote. */
#include "http_int.h"

#include <string.h>

void http_persist(http_server *s, http_req *r, http_resp *out)
{
    if (!s->cfg.persist) {
        http_resp_json_error(out, 500, "persistence is not running");
        return;
    }
    const char *db = http_arg(r, "db");
    if (db) {
        catalog_read_lock(s->cfg.cat);
        bool found = catalog_db_find(s->cfg.cat, db, strlen(db)) != NULL;
        catalog_read_unlock(s->cfg.cat);
        if (!found) {
            vg_buf msg;
            vg_buf_init(&msg);
            vg_buf_printf(&msg, "database not found: %s", db);
            http_resp_json_error(out, 404, msg.oom ? "database not found" : msg.data);
            vg_buf_free(&msg);
            return;
        }
    }
    persist_result res;
    vg_err e;
    vg_err_clear(&e);
    if (persist_snapshot(s->cfg.persist, &res, &e) != VG_OK) {
        http_resp_json_error(out, 500, e.msg);
        return;
    }
    vg_jw w;
    vg_jw_init(&w, &out->body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "files");
    vg_jw_u64(&w, res.files);
    vg_jw_key(&w, "rows");
    vg_jw_u64(&w, res.rows);
    vg_jw_key(&w, "rows_buffered");
    vg_jw_u64(&w, res.rows_in);
    vg_jw_key(&w, "bytes");
    vg_jw_u64(&w, res.bytes);
    vg_jw_key(&w, "wal_seq");
    vg_jw_u64(&w, res.wal_seq);
    vg_jw_obj_end(&w);
    out->status = 200;
    out->content_type = "application/json";
}

void http_compact(http_server *s, http_req *r, http_resp *out)
{
    if (!s->cfg.persist) {
        http_resp_json_error(out, 500, "persistence is not running");
        return;
    }
    persist_compact_result res;
    vg_err e;
    vg_err_clear(&e);
    if (persist_compact(s->cfg.persist, vg_now_ns(), &res, &e) != VG_OK) {
        http_resp_json_error(out, 500, e.msg);
        return;
    }
    vg_jw w;
    vg_jw_init(&w, &out->body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "compactions");
    vg_jw_u64(&w, res.runs);
    vg_jw_key(&w, "files_in");
    vg_jw_u64(&w, res.files_in);
    vg_jw_key(&w, "files_out");
    vg_jw_u64(&w, res.files_out);
    vg_jw_key(&w, "bytes_in");
    vg_jw_u64(&w, res.bytes_in);
    vg_jw_key(&w, "bytes_out");
    vg_jw_u64(&w, res.bytes_out);
    vg_jw_obj_end(&w);
    out->status = 200;
    out->content_type = "application/json";
}
