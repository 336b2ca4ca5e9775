/*
 * crash_dump: reads a stopped server's data back through the C API, exactly as the
 * server recovers it at start-up (catalog_open, wal_open, a buffer, ingest_new,
 * persist_open, ingest_replay; Parquet files and replayed rows through persist's
 * table views, files first), and prints every row of every live database and table, one
 * canonical line per row:
 *
 *     db<TAB>table,tag1=v1,tag2=v2 field1=<v>,field2=<v> <time_ns>
 *
 * Rows are deduplicated by (tag set, time), the later write winning field by field
 * (rows taken in chunk seq order, then row index); lines are sorted by (db, table,
 * tag set, time); tags and fields by key. Floats print with %.17g, integers with a
 * trailing `i`, unsigned with `u`, strings quoted (`"` and `\` escaped), bools as
 * true/false; names are escaped as in line protocol (`,` `=` space `\`).
 *
 * This is the read-back the crash and integration tests use until SQL exists.
 * wal_open cuts a torn WAL tail on disk, so run it only while the server is stopped.
 *
 * Usage: crash_dump --data-dir D --node-id N
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "buffer/buffer.h"
#include "catalog/catalog.h"
#include "ingest/ingest.h"
#include "persist/persist.h"
#include "store/store.h"
#include "wal/wal.h"

/* One deduplicated row of a table. */
typedef struct dump_row {
    char *tags; /* ",k=v,k2=v2" (escaped), or "" */
    int64_t time;
    char **fields; /* per catalog column id: "k=<v>" (escaped), or NULL */
} dump_row;

typedef struct dump_table {
    dump_row *rows;
    size_t n;
    size_t cap;
    uint32_t ncols;
    vg_map index; /* tags + '\0' + time bytes -> row index + 1 */
} dump_table;

static void die(const char *what, const vg_err *e)
{
    fprintf(stderr, "crash_dump: %s: %s\n", what, e ? e->msg : "out of memory");
    exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        die("calloc", NULL);
    return p;
}

/* Appends s escaped as a line-protocol name or tag value. */
static void put_name(vg_buf *b, const char *s, size_t len, bool measurement)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ',' || c == ' ' || c == '\\' || (c == '=' && !measurement))
            vg_buf_putc(b, '\\');
        vg_buf_putc(b, c);
    }
}

/* Appends "key=<value>" for row r of a field column. */
static void put_field(vg_buf *b, const catalog_column *col, const buffer_column *bc, uint32_t r)
{
    put_name(b, col->name, col->name_len, false);
    vg_buf_putc(b, '=');
    switch (bc->type) {
    case CATALOG_FLOAT: vg_buf_printf(b, "%.17g", bc->v.f64[r]); break;
    case CATALOG_INT: vg_buf_printf(b, "%" PRId64 "i", bc->v.i64[r]); break;
    case CATALOG_UINT: vg_buf_printf(b, "%" PRIu64 "u", bc->v.u64[r]); break;
    case CATALOG_BOOL: vg_buf_puts(b, bc->v.b[r] ? "true" : "false"); break;
    case CATALOG_STRING: {
        uint32_t n = bc->v.off[r + 1] - bc->v.off[r];
        const char *s = n > 0 ? bc->str + bc->v.off[r] : "";
        vg_buf_putc(b, '"');
        for (uint32_t i = 0; i < n; i++) {
            if (s[i] == '"' || s[i] == '\\')
                vg_buf_putc(b, '\\');
            vg_buf_putc(b, s[i]);
        }
        vg_buf_putc(b, '"');
        break;
    }
    default: vg_buf_printf(b, "<type %d>", (int)bc->type); break;
    }
}

/* Sorts column ids by column name. */
static const catalog_table *g_sort_table;
static int cmp_col_by_name(const void *a, const void *b)
{
    const catalog_column *x = g_sort_table->cols[*(const uint32_t *)a];
    const catalog_column *y = g_sort_table->cols[*(const uint32_t *)b];
    return strcmp(x->name, y->name);
}

static int cmp_row(const void *a, const void *b)
{
    const dump_row *x = a, *y = b;
    int c = strcmp(x->tags, y->tags);
    if (c != 0)
        return c;
    return (x->time > y->time) - (x->time < y->time);
}

static int cmp_db_by_name(const void *a, const void *b)
{
    return strcmp((*(catalog_db *const *)a)->name, (*(catalog_db *const *)b)->name);
}

static int cmp_table_by_name(const void *a, const void *b)
{
    return strcmp((*(catalog_table *const *)a)->name, (*(catalog_table *const *)b)->name);
}

/* Adds the rows of one chunk to the table's deduplicated set. */
static void add_chunk(dump_table *dt, const catalog_table *t, const buffer_chunk *ch,
                      const uint32_t *tag_order, uint32_t ntag, const uint32_t *field_order,
                      uint32_t nfield)
{
    vg_buf key;
    vg_buf_init(&key);
    for (uint32_t r = 0; r < ch->nrows; r++) {
        vg_buf_reset(&key);
        for (uint32_t k = 0; k < ntag; k++) {
            uint32_t id = tag_order[k];
            if (id >= ch->ncols || !buffer_is_valid(&ch->cols[id], r))
                continue;
            const buffer_column *bc = &ch->cols[id];
            uint32_t did = bc->v.ids[r];
            vg_buf_putc(&key, ',');
            put_name(&key, t->cols[id]->name, t->cols[id]->name_len, false);
            vg_buf_putc(&key, '=');
            put_name(&key, bc->dict->strs[did], bc->dict->lens[did], false);
        }
        size_t tags_len = key.len;
        int64_t time = ch->cols[0].v.i64[r];
        vg_buf_putc(&key, '\0');
        vg_buf_append(&key, &time, sizeof time);
        if (key.oom)
            die("key", NULL);

        size_t idx = (size_t)(uintptr_t)vg_map_get(&dt->index, key.data, key.len);
        if (idx == 0) {
            if (dt->n == dt->cap) {
                dt->cap = dt->cap ? dt->cap * 2 : 1024;
                dt->rows = realloc(dt->rows, dt->cap * sizeof *dt->rows);
                if (dt->rows == NULL)
                    die("realloc", NULL);
            }
            dump_row *nr = &dt->rows[dt->n++];
            nr->tags = xcalloc(tags_len + 1, 1);
            memcpy(nr->tags, key.data, tags_len);
            nr->time = time;
            nr->fields = xcalloc(dt->ncols, sizeof *nr->fields);
            idx = dt->n;
            if (vg_map_put(&dt->index, key.data, key.len, (void *)(uintptr_t)idx) != VG_OK)
                die("map", NULL);
        }
        dump_row *row = &dt->rows[idx - 1];
        for (uint32_t k = 0; k < nfield; k++) {
            uint32_t id = field_order[k];
            if (id >= ch->ncols || !buffer_is_valid(&ch->cols[id], r))
                continue;
            vg_buf f;
            vg_buf_init(&f);
            put_field(&f, t->cols[id], &ch->cols[id], r);
            if (f.oom)
                die("field", NULL);
            free(row->fields[id]);
            row->fields[id] = strdup(f.data);
            vg_buf_free(&f);
        }
    }
    vg_buf_free(&key);
}

static void dump_table_rows(persist *ps, const catalog_db *db, const catalog_table *t, FILE *out,
                            size_t *total)
{
    uint32_t *tag_order = xcalloc(t->ncols, sizeof *tag_order);
    uint32_t *field_order = xcalloc(t->ncols, sizeof *field_order);
    uint32_t ntag = 0, nfield = 0;
    for (uint32_t id = 1; id < t->ncols; id++) {
        if (t->cols[id] == NULL)
            continue;
        if (t->cols[id]->type == CATALOG_TAG)
            tag_order[ntag++] = id;
        else if (t->cols[id]->type != CATALOG_TIME)
            field_order[nfield++] = id;
    }
    g_sort_table = t;
    qsort(tag_order, ntag, sizeof *tag_order, cmp_col_by_name);
    qsort(field_order, nfield, sizeof *field_order, cmp_col_by_name);

    vg_err e = {0};
    persist_view *v = NULL;
    if (persist_view_open(ps, db->id, t->id, INT64_MIN, INT64_MAX, &v, &e) != VG_OK)
        die("persist_view_open", &e);
    persist_col *cols = xcalloc(t->ncols, sizeof *cols);
    for (uint32_t id = 0; id < t->ncols; id++)
        cols[id] = (persist_col){id, t->cols[id]->name, t->cols[id]->type};

    dump_table dt = {.ncols = t->ncols};
    vg_map_init(&dt.index);
    for (size_t c = 0; c < v->n; c++) {
        buffer_chunk *ch = NULL;
        if (persist_source_load(&v->src[c], db->id, t->id, t->ncols, cols, t->ncols, &ch, &e) !=
            VG_OK)
            die("persist_source_load", &e);
        add_chunk(&dt, t, ch, tag_order, ntag, field_order, nfield);
        buffer_chunk_unref(ch);
    }
    free(cols);
    persist_view_close(v);

    if (dt.n > 0)
        qsort(dt.rows, dt.n, sizeof *dt.rows, cmp_row);
    vg_buf line;
    vg_buf_init(&line);
    for (size_t i = 0; i < dt.n; i++) {
        dump_row *row = &dt.rows[i];
        vg_buf_reset(&line);
        vg_buf_append(&line, db->name, db->name_len);
        vg_buf_putc(&line, '\t');
        put_name(&line, t->name, t->name_len, true);
        vg_buf_puts(&line, row->tags);
        vg_buf_putc(&line, ' ');
        bool first = true;
        for (uint32_t k = 0; k < nfield; k++) {
            char *f = row->fields[field_order[k]];
            if (f == NULL)
                continue;
            if (!first)
                vg_buf_putc(&line, ',');
            vg_buf_puts(&line, f);
            first = false;
        }
        vg_buf_printf(&line, " %" PRId64 "\n", row->time);
        if (line.oom)
            die("line", NULL);
        fwrite(line.data, 1, line.len, out);
        for (uint32_t id = 0; id < dt.ncols; id++)
            free(row->fields[id]);
        free(row->fields);
        free(row->tags);
    }
    *total += dt.n;
    vg_buf_free(&line);
    vg_map_free(&dt.index);
    free(dt.rows);
    free(tag_order);
    free(field_order);
}

static void usage(void)
{
    fprintf(stderr, "usage: crash_dump --data-dir D --node-id N\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *data_dir = NULL, *node_id = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
            data_dir = argv[++i];
        else if (strcmp(argv[i], "--node-id") == 0 && i + 1 < argc)
            node_id = argv[++i];
        else
            usage();
    }
    if (data_dir == NULL || node_id == NULL)
        usage();

    char *node_dir = vg_path_join(data_dir, node_id);
    char *cat_dir = node_dir ? vg_path_join(node_dir, "catalog") : NULL;
    char *wal_dir = node_dir ? vg_path_join(node_dir, "wal") : NULL;
    if (cat_dir == NULL || wal_dir == NULL)
        die("path", NULL);

    vg_err e = {0};
    /* Replay must never trip a limit the server was started with: take the widest. */
    catalog_limits limits = {UINT32_MAX, UINT32_MAX, UINT32_MAX, 0};
    catalog *cat = NULL;
    if (catalog_open(cat_dir, &limits, &cat, &e) != VG_OK)
        die("catalog_open", &e);
    wal_options wopt = {.dir = wal_dir, .min_next_seq = catalog_persisted_seq(cat) + 1};
    wal *w = NULL;
    if (wal_open(&wopt, &w, &e) != VG_OK)
        die("wal_open", &e);
    buffer *buf = buffer_new(NULL);
    if (buf == NULL)
        die("buffer_new", NULL);
    ingest_config icfg = {.cat = cat, .wal = w, .buf = buf};
    ingest *ig = NULL;
    if (ingest_new(&icfg, &ig, &e) != VG_OK)
        die("ingest_new", &e);
    store *st = NULL;
    if (store_open(node_dir, &st, &e) != VG_OK)
        die("store_open", &e);
    persist_config pcfg = {.cat = cat, .wal = w, .buf = buf, .store = st};
    persist *ps = NULL;
    if (persist_open(&pcfg, &ps, &e) != VG_OK)
        die("persist_open", &e);
    uint64_t records = 0;
    if (ingest_replay(ig, &records, &e) != VG_OK)
        die("ingest_replay", &e);

    size_t total = 0;
    catalog_read_lock(cat);
    uint32_t ndbs = 0;
    catalog_db **all = catalog_dbs(cat, &ndbs);
    catalog_db **dbs = xcalloc(ndbs, sizeof *dbs);
    uint32_t nlive = 0;
    for (uint32_t i = 0; i < ndbs; i++)
        if (!all[i]->deleted)
            dbs[nlive++] = all[i];
    qsort(dbs, nlive, sizeof *dbs, cmp_db_by_name);
    for (uint32_t i = 0; i < nlive; i++) {
        catalog_db *db = dbs[i];
        catalog_table **tables = xcalloc(db->ntables, sizeof *tables);
        uint32_t nt = 0;
        for (uint32_t k = 0; k < db->ntables; k++)
            if (db->tables[k] != NULL && !db->tables[k]->deleted)
                tables[nt++] = db->tables[k];
        qsort(tables, nt, sizeof *tables, cmp_table_by_name);
        for (uint32_t k = 0; k < nt; k++)
            dump_table_rows(ps, db, tables[k], stdout, &total);
        free(tables);
    }
    catalog_read_unlock(cat);
    free(dbs);
    fflush(stdout);
    fprintf(stderr, "crash_dump: %" PRIu64 " WAL records replayed, %zu rows\n", records, total);

    persist_close(ps);
    store_close(st);
    ingest_free(ig);
    buffer_free(buf);
    wal_close(w);
    catalog_close(cat);
    vg_free(cat_dir);
    vg_free(wal_dir);
    vg_free(node_dir);
    return 0;
}
