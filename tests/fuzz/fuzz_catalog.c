/*
 * tests/fuzz/fuzz_catalog.c: libFuzzer target for the catalog log's replay (also
 * linked with tests/fuzz/replay.c to replay the corpus without libFuzzer).
 *
 * The input is a catalog.log, written to a scratch directory. For any input it
 * checks, and abort()s when one fails:
 *  - catalog_open either succeeds or fails with a message and a code that is
 *    corruption, a limit or memory, never a crash, and leaves no catalog.log.tmp;
 *  - a log that opens opens again to the same state (a torn tail, cut at the first
 *    open, stays cut);
 *  - a checkpoint of that state (catalog_checkpoint) reopens to the same state: the
 *    image written from memory replays exactly like the log it replaces.
 * The state compared: the uuid, every database (deleted ones too) with its tables,
 * columns, live files and tombstones, the persisted WAL mark, every trigger.
 */
#include "catalog/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_catalog: %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char dir[64];
static char log_path[96];
static char tmp_path[112];

/* One scratch directory for the process, removed at exit. */
static void cleanup(void)
{
    unlink(log_path);
    unlink(tmp_path);
    rmdir(dir);
}

static void setup(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof dir, "/tmp/vigil-fuzz-catalog.XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(log_path, sizeof log_path, "%s/catalog.log", dir);
    snprintf(tmp_path, sizeof tmp_path, "%s/catalog.log.tmp", dir);
    atexit(cleanup);
    vg_log_set_filter("error", NULL); /* torn tails are logged: thousands of lines say nothing */
}

static void write_input(const uint8_t *data, size_t size)
{
    FILE *f = fopen(log_path, "wb");
    REQUIRE(f != NULL);
    REQUIRE(size == 0 || fwrite(data, 1, size, f) == size);
    REQUIRE(fclose(f) == 0);
    unlink(tmp_path);
}

/* ---- the state, as text ---- */

static void put_bytes(vg_buf *b, const char *s, size_t n)
{
    vg_buf_printf(b, "%zu:", n);
    vg_buf_append(b, s, n);
    vg_buf_putc(b, '\n');
}

static void dump_table(vg_buf *b, const catalog_table *t)
{
    vg_buf_printf(b, "table %u deleted=%d at=%lld wal=%llu hard=%lld\n", t->id, t->deleted,
        (long long)t->deleted_at_ns, (unsigned long long)t->deleted_wal_seq,
        (long long)t->hard_delete_at_ns);
    put_bytes(b, t->name, t->name_len);
    for (uint32_t i = 0; i < t->ncols; i++) {
        vg_buf_printf(b, "col %u type %d\n", t->cols[i]->id, (int)t->cols[i]->type);
        put_bytes(b, t->cols[i]->name, t->cols[i]->name_len);
    }
    for (uint32_t i = 0; i < t->nfiles; i++) {
        const catalog_file *f = t->files[i];
        vg_buf_printf(b, "file %llu order %llu %lld..%lld rows %llu bytes %llu stats %u\n",
            (unsigned long long)f->id, (unsigned long long)f->order, (long long)f->min_time,
            (long long)f->max_time, (unsigned long long)f->rows, (unsigned long long)f->bytes,
            f->nstats);
        put_bytes(b, f->path, strlen(f->path));
    }
    vg_buf_printf(b, "tombstones %u\n", t->ntombs);
}

static void dump(catalog *c, vg_buf *b)
{
    catalog_read_lock(c);
    vg_buf_printf(b, "uuid %s persisted %llu\n", catalog_uuid(c),
        (unsigned long long)catalog_persisted_seq(c));
    uint32_t ndbs = 0;
    catalog_db **dbs = catalog_dbs(c, &ndbs);
    for (uint32_t i = 0; i < ndbs; i++) {
        const catalog_db *db = dbs[i];
        vg_buf_printf(b, "db %u deleted=%d at=%lld retention=%lld hard=%lld\n", db->id, db->deleted,
            (long long)db->deleted_at_ns, (long long)db->retention_ns,
            (long long)db->hard_delete_at_ns);
        put_bytes(b, db->name, db->name_len);
        for (uint32_t j = 0; j < db->ntables; j++)
            dump_table(b, db->tables[j]);
    }
    uint32_t ntr = 0;
    catalog_trigger **tr = catalog_triggers(c, &ntr);
    for (uint32_t i = 0; i < ntr; i++) {
        vg_buf_printf(b, "trigger %u db %u async=%d errors=%d disabled=%d deleted=%d args=%u\n", tr[i]->id,
            tr[i]->db_id, tr[i]->run_async, (int)tr[i]->error_behavior, tr[i]->disabled,
            tr[i]->deleted, tr[i]->nargs);
        put_bytes(b, tr[i]->name, strlen(tr[i]->name));
        put_bytes(b, tr[i]->spec, strlen(tr[i]->spec));
    }
    catalog_read_unlock(c);
    REQUIRE(!b->oom);
}

/* ---- the checks ---- */

static void check_error(int rc, const vg_err *e)
{
    REQUIRE(rc == VG_ECORRUPT || rc == VG_ELIMIT || rc == VG_ENOMEM || rc == VG_EINVAL);
    REQUIRE((int)e->code == rc);
    REQUIRE(memchr(e->msg, '\0', sizeof e->msg) != NULL && e->msg[0] != '\0');
}

static catalog *open_ok(void)
{
    catalog *c = NULL;
    vg_err e;
    vg_err_clear(&e);
    int rc = catalog_open(dir, NULL, &c, &e);
    if (rc != VG_OK)
        fprintf(stderr, "fuzz_catalog: reopen failed: %s\n", e.msg);
    REQUIRE(rc == VG_OK);
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    setup();
    write_input(data, size);
    catalog *c = NULL;
    vg_err e;
    vg_err_clear(&e);
    int rc = catalog_open(dir, NULL, &c, &e);
    REQUIRE(access(tmp_path, F_OK) != 0);
    if (rc != VG_OK) {
        check_error(rc, &e);
        return 0;
    }
    vg_buf first, again, image;
    vg_buf_init(&first);
    vg_buf_init(&again);
    vg_buf_init(&image);
    dump(c, &first);
    catalog_close(c);

    c = open_ok();
    dump(c, &again);
    REQUIRE(again.len == first.len && memcmp(again.data, first.data, first.len) == 0);

    catalog_write_lock(c);
    rc = catalog_checkpoint(c, &e);
    catalog_write_unlock(c);
    if (rc != VG_OK)
        fprintf(stderr, "fuzz_catalog: checkpoint failed: %s\n", e.msg);
    REQUIRE(rc == VG_OK);
    catalog_close(c);
    REQUIRE(access(tmp_path, F_OK) != 0);

    c = open_ok();
    dump(c, &image);
    catalog_close(c);
    if (image.len != first.len || memcmp(image.data, first.data, first.len) != 0)
        fprintf(stderr, "fuzz_catalog: state before the checkpoint:\n%.*s\nafter:\n%.*s\n",
                (int)first.len, first.data, (int)image.len, image.data);
    REQUIRE(image.len == first.len && memcmp(image.data, first.data, first.len) == 0);
    vg_buf_free(&first);
    vg_buf_free(&again);
    vg_buf_free(&image);
    return 0;
}
