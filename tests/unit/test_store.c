/* Unit tests for store: a put is readable whole, a missing object is VG_ENOTFOUND,
 * dropping an object's pages from the resident set keeps its bytes readable (in
 * whole, in part, past its end), a delete removes the emptied folders, and a streamed
 * put (store_writer) is invisible until committed and leaves nothing when aborted. */
#include "store/store.h"
#include "test.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void test_missing_object(void)
{
    char dir[] = "/tmp/vigil-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    store *s;
    vg_err e = {0};
    CHECK(store_open(dir, &s, &e) == VG_OK);
    store_obj o;
    CHECK_INT(store_get(s, "no/such.bin", &o, &e), VG_ENOTFOUND);
    CHECK(strstr(e.msg, "no/such.bin") != NULL);
    CHECK(store_delete(s, "no/such.bin", &e) == VG_OK); /* already gone: fine */
    store_close(s);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_put_get_drop_delete(void)
{
    char dir[] = "/tmp/vigil-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    store *s;
    vg_err e = {0};
    CHECK(store_open(dir, &s, &e) == VG_OK);
    enum { N = 3 << 20 }; /* several pages, and not a whole number of them */
    char *data = malloc(N + 123);
    for (size_t i = 0; i < N + 123; i++)
        data[i] = (char)(i * 131 + 7);
    CHECK(store_put(s, "a/b/obj.bin", data, N + 123, &e) == VG_OK);
    store_obj o;
    CHECK(store_get(s, "a/b/obj.bin", &o, &e) == VG_OK);
    CHECK_INT(o.len, N + 123);
    CHECK(memcmp(o.data, data, N + 123) == 0);
    store_obj_drop_pages(&o, 4097, 100000);   /* unaligned, in the middle */
    store_obj_drop_pages(&o, N, 10 * N);      /* runs past the end */
    store_obj_drop_pages(&o, 0, o.len);       /* all of it */
    store_obj_drop_pages(&o, 10 * (size_t)N, 5); /* starts past the end: nothing */
    CHECK(memcmp(o.data, data, N + 123) == 0); /* read back from the file */
    store_obj_release(&o);
    CHECK_INT(store_get(s, "a/b/missing.bin", &o, &e), VG_ENOTFOUND);
    CHECK(store_delete(s, "a/b/obj.bin", &e) == VG_OK);
    char sub[64];
    snprintf(sub, sizeof sub, "%s/a", dir);
    struct stat st;
    CHECK(stat(sub, &st) != 0); /* emptied folders went with it */
    store_close(s);
    free(data);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static int count_objects(void *ctx, const char *path, uint64_t size)
{
    (void)path;
    (void)size;
    (*(int *)ctx)++;
    return 0;
}

static void test_streamed_put(void)
{
    char dir[] = "/tmp/vigil-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    store *s;
    vg_err e = {0};
    CHECK(store_open(dir, &s, &e) == VG_OK);
    store_writer w;
    CHECK(store_writer_open(s, "x/y/z.parquet", &w, &e) == VG_OK);
    CHECK(write(w.fd, "hello ", 6) == 6);
    store_obj o;
    CHECK_INT(store_get(s, "x/y/z.parquet", &o, &e), VG_ENOTFOUND); /* not yet */
    CHECK(write(w.fd, "world", 5) == 5);
    uint64_t bytes = 0;
    CHECK(store_writer_commit(&w, &bytes, &e) == VG_OK);
    CHECK_INT(bytes, 11);
    CHECK(store_get(s, "x/y/z.parquet", &o, &e) == VG_OK);
    CHECK_INT(o.len, 11);
    CHECK(memcmp(o.data, "hello world", 11) == 0);
    store_obj_release(&o);
    int n = 0;
    CHECK(store_list(s, "", count_objects, &n, &e) == VG_OK);
    CHECK_INT(n, 1); /* no temporary file left */
    /* aborted: neither the object nor its temporary file */
    CHECK(store_writer_open(s, "x/y/gone.parquet", &w, &e) == VG_OK);
    CHECK(write(w.fd, "abc", 3) == 3);
    store_writer_abort(&w);
    CHECK_INT(store_get(s, "x/y/gone.parquet", &o, &e), VG_ENOTFOUND);
    n = 0;
    CHECK(store_list(s, "", count_objects, &n, &e) == VG_OK);
    CHECK_INT(n, 1);
    /* a bad path is refused before anything is created */
    CHECK_INT(store_writer_open(s, "../out.parquet", &w, &e), VG_EINVAL);
    CHECK_INT(w.fd, -1);
    store_close(s);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

TEST_MAIN(test_put_get_drop_delete, test_missing_object, test_streamed_put)
