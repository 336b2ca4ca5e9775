/* ingest/preview.c: dry-run writes for the processing engine's plugin tests.
 *
 * Parses a body with the write path's parser and checks each line against the catalog
 * the way validation does (reserved column names, a key given twice, a field whose
 * type differs from the stored column's), with the same messages, but creates nothing
 * and writes nothing: the result says which lines would be written, with their
 * unescaped names and typed values, and which would be rejected. */
#include "ingest_int.h"

#include "lineproto/lineproto.h"

#include <stdio.h>
#include <string.h>

static catalog_type type_of(lp_type t)
{
    switch (t) {
    case LP_FLOAT: return CATALOG_FLOAT;
    case LP_INT: return CATALOG_INT;
    case LP_UINT: return CATALOG_UINT;
    case LP_STRING: return CATALOG_STRING;
    case LP_BOOL: return CATALOG_BOOL;
    }
    return CATALOG_FLOAT;
}

static const char *unesc(vg_arena *a, lp_slice s, size_t (*fn)(lp_slice, char *), uint32_t *len)
{
    char *out = vg_arena_alloc(a, (size_t)s.len + 1);
    if (!out)
        return NULL;
    *len = s.escaped ? (uint32_t)fn(s, out) : s.len;
    if (!s.escaped)
        memcpy(out, s.ptr, s.len);
    out[*len] = '\0';
    return out;
}

static int add_error(ingest_preview *p, size_t *cap, vg_arena *a, uint32_t line_no,
                     const char *text, uint32_t text_len, const char *msg)
{
    if (p->nerrors == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        ingest_line_error *ne = vg_arena_alloc(a, ncap * sizeof *ne);
        if (!ne)
            return VG_ENOMEM;
        if (p->nerrors)
            memcpy(ne, p->errors, p->nerrors * sizeof *ne);
        p->errors = ne;
        *cap = ncap;
    }
    char *m = vg_arena_strndup(a, msg, strlen(msg));
    if (!m)
        return VG_ENOMEM;
    p->errors[p->nerrors++] = (ingest_line_error){
        .line_no = line_no, .column = 1, .text = text, .text_len = text_len, .msg = m};
    return VG_OK;
}

/* Checks one line's keys against each other and the stored schema (read lock held).
 * Returns false with msg set for a line the write would reject. */
static bool check_line(catalog_db *db, const ingest_preview_line *pl, char *msg, size_t msgsz)
{
    catalog_table *t = db ? catalog_table_find(db, pl->table, pl->table_len) : NULL;
    for (uint32_t i = 0; i < pl->nvals; i++) {
        const ingest_preview_value *v = &pl->vals[i];
        if ((v->key_len == 4 && !memcmp(v->key, "time", 4)) ||
            (v->key_len == 13 && !memcmp(v->key, "__chunk_order", 13))) {
            snprintf(msg, msgsz, "'%.*s' is a reserved column", (int)v->key_len, v->key);
            return false;
        }
        for (uint32_t j = 0; j < i; j++)
            if (pl->vals[j].key_len == v->key_len && !memcmp(pl->vals[j].key, v->key, v->key_len)) {
                if (i < pl->ntags)
                    snprintf(msg, msgsz, "Must not contain duplicate tags, but `%.*s` was repeated",
                             (int)v->key_len, v->key);
                else
                    snprintf(msg, msgsz,
                             "invalid line protocol - multiple instances of '%.*s' field found",
                             (int)v->key_len, v->key);
                return false;
            }
        catalog_column *c = t ? catalog_column_find(t, v->key, v->key_len) : NULL;
        if (c && c->type != v->v.type) {
            snprintf(msg, msgsz, "invalid column type for column '%.*s', expected %s, got %s",
                     (int)(v->key_len > 200 ? 200 : v->key_len), v->key,
                     catalog_type_iox_name(c->type), catalog_type_iox_name(v->v.type));
            return false;
        }
    }
    return true;
}

/* Converts one parsed line; VG_EINVAL with msg for a bad timestamp. */
static int convert_line(const lp_line *l, lp_precision prec, int64_t default_time, vg_arena *a,
                        ingest_preview_line *pl, char *msg, size_t msgsz)
{
    pl->line_no = l->line_no;
    if (!(pl->table = unesc(a, l->measurement, lp_unescape_measurement, &pl->table_len)))
        return VG_ENOMEM;
    pl->time = default_time;
    if (l->has_time) {
        vg_err se;
        if (lp_scale_time(l->time, prec, &pl->time, &se) != VG_OK) {
            snprintf(msg, msgsz, "%s", se.msg);
            return VG_EINVAL;
        }
    }
    pl->ntags = l->ntags;
    pl->nvals = l->ntags + l->nfields;
    pl->vals = vg_arena_calloc(a, (pl->nvals ? pl->nvals : 1) * sizeof *pl->vals);
    if (!pl->vals)
        return VG_ENOMEM;
    for (uint32_t i = 0; i < pl->nvals; i++) {
        ingest_preview_value *v = &pl->vals[i];
        const lp_slice *key = i < l->ntags ? &l->tags[i].key : &l->fields[i - l->ntags].key;
        if (!(v->key = unesc(a, *key, lp_unescape, &v->key_len)))
            return VG_ENOMEM;
        if (i < l->ntags) {
            v->v.type = CATALOG_TAG;
            if (!(v->v.v.s.p = unesc(a, l->tags[i].val, lp_unescape, &v->v.v.s.len)))
                return VG_ENOMEM;
            continue;
        }
        const lp_field *f = &l->fields[i - l->ntags];
        v->v.type = type_of(f->type);
        switch (f->type) {
        case LP_FLOAT: v->v.v.f = f->v.f; break;
        case LP_INT: v->v.v.i = f->v.i; break;
        case LP_UINT: v->v.v.u = f->v.u; break;
        case LP_BOOL: v->v.v.b = f->v.b; break;
        case LP_STRING:
            if (!(v->v.v.s.p = unesc(a, f->v.s, lp_unescape_string_field, &v->v.v.s.len)))
                return VG_ENOMEM;
            break;
        }
    }
    return VG_OK;
}

int ingest_preview_write(ingest *ig, const char *db_name, const char *body, size_t len,
                         const char *precision, int64_t now_ns, vg_arena *a, ingest_preview *out,
                         vg_err *e)
{
    memset(out, 0, sizeof *out);
    lp_precision prec;
    vg_err pe;
    const char *p = precision ? precision : "auto";
    if (lp_parse_precision(p, strlen(p), true, &prec, &pe) != VG_OK)
        return vg_err_set(e, VG_EINVAL, "serde error: %s", pe.msg);
    lp_options opt = {.stop_at_first_error = false};
    lp_batch b;
    if (lp_parse(body, len, &opt, a, &b) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory parsing line protocol");
    int64_t default_time = lp_default_time(now_ns ? now_ns : vg_now_ns(), prec);
    size_t errcap = 0;
    for (size_t i = 0; i < b.nerrors; i++)
        if (add_error(out, &errcap, a, b.errors[i].line_no, b.errors[i].text, b.errors[i].text_len,
                      b.errors[i].msg) != VG_OK)
            return vg_err_set(e, VG_ENOMEM, "out of memory");
    out->lines = vg_arena_alloc(a, (b.nlines ? b.nlines : 1) * sizeof *out->lines);
    if (!out->lines)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    catalog *cat = ig_catalog(ig);
    int rc = VG_OK;
    catalog_read_lock(cat);
    catalog_db *db = catalog_db_find(cat, db_name, strlen(db_name));
    for (size_t i = 0; i < b.nlines && rc == VG_OK; i++) {
        char msg[512];
        ingest_preview_line *pl = &out->lines[out->nlines];
        rc = convert_line(&b.lines[i], prec, default_time, a, pl, msg, sizeof msg);
        if (rc == VG_OK && !check_line(db, pl, msg, sizeof msg))
            rc = VG_EINVAL;
        if (rc == VG_EINVAL)
            rc = add_error(out, &errcap, a, b.lines[i].line_no, b.lines[i].text,
                           b.lines[i].text_len, msg);
        else if (rc == VG_OK)
            out->nlines++;
    }
    catalog_read_unlock(cat);
    if (rc != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    /* Parse and validation errors were found apart; report them in line order. */
    for (size_t i = 1; i < out->nerrors; i++) {
        ingest_line_error x = out->errors[i];
        size_t j = i;
        while (j > 0 && out->errors[j - 1].line_no > x.line_no) {
            out->errors[j] = out->errors[j - 1];
            j--;
        }
        out->errors[j] = x;
    }
    return VG_OK;
}
