/* store/dir.c: the local-directory object store (store.h). Objects are files under
 * the root; a put writes `<path>.tmp`, fsyncs it, renames it into place and fsyncs
 * the directory, so a crash leaves the old state, the new one, or a stray .tmp file
 * that start-up cleans away (persist). */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_MOD "store"

struct store {
    char *root;
};

int store_open(const char *dir, store **out, vg_err *e)
{
    *out = NULL;
    int rc = vg_mkdir_p(dir, e);
    if (rc != VG_OK)
        return rc;
    store *s = vg_calloc(1, sizeof *s);
    if (!s || !(s->root = vg_strdup(dir))) {
        vg_free(s);
        return vg_err_set(e, VG_ENOMEM, "out of memory opening the object store");
    }
    *out = s;
    return VG_OK;
}

void store_close(store *s)
{
    if (!s)
        return;
    vg_free(s->root);
    vg_free(s);
}

const char *store_root(const store *s)
{
    return s->root;
}

/* A path must stay inside the root: relative, no "..", no empty segment. */
static int check_path(const char *path, vg_err *e)
{
    if (!path[0] || path[0] == '/')
        return vg_err_set(e, VG_EINVAL, "object path '%s' must be relative", path);
    for (const char *p = path; *p;) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
            return vg_err_set(e, VG_EINVAL, "object path '%s' has an invalid segment", path);
        p += n + (q != NULL);
    }
    return VG_OK;
}

static char *full_path(const store *s, const char *path)
{
    return vg_path_join(s->root, path);
}

/* The object's file path, its parent directories created; NULL with e set. */
static char *prepare_put(store *s, const char *path, vg_err *e)
{
    if (check_path(path, e) != VG_OK)
        return NULL;
    char *full = full_path(s, path);
    if (!full) {
        vg_err_set(e, VG_ENOMEM, "out of memory writing object '%s'", path);
        return NULL;
    }
    char *slash = strrchr(full, '/');
    *slash = '\0';
    int rc = vg_mkdir_p(full, e);
    *slash = '/';
    if (rc != VG_OK) {
        vg_free(full);
        return NULL;
    }
    return full;
}

int store_put(store *s, const char *path, const void *data, size_t len, vg_err *e)
{
    char *full = prepare_put(s, path, e);
    if (!full)
        return e ? e->code : VG_EIO;
    int rc = vg_durable_write_file(full, data, len, e);
    vg_free(full);
    return rc;
}

int store_writer_open(store *s, const char *path, store_writer *w, vg_err *e)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (!(w->full_ = prepare_put(s, path, e)))
        return e ? e->code : VG_EIO;
    size_t n = strlen(w->full_);
    if (!(w->tmp_ = vg_malloc(n + 5))) {
        store_writer_abort(w);
        return vg_err_set(e, VG_ENOMEM, "out of memory writing object '%s'", path);
    }
    memcpy(w->tmp_, w->full_, n);
    memcpy(w->tmp_ + n, ".tmp", 5);
    w->fd = open(w->tmp_, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int rc = vg_err_errno(e, VG_EIO, errno, "cannot create '%s'", w->tmp_);
        store_writer_abort(w);
        return rc;
    }
    return VG_OK;
}

int store_writer_commit(store_writer *w, uint64_t *bytes, vg_err *e)
{
    struct stat st;
    int rc = VG_OK;
    if (fstat(w->fd, &st) != 0) {
        rc = vg_err_errno(e, VG_EIO, errno, "cannot stat '%s'", w->tmp_);
        store_writer_abort(w);
        return rc;
    }
    *bytes = (uint64_t)st.st_size;
    rc = vg_durable_publish(w->fd, w->tmp_, w->full_, e);
    w->fd = -1;
    vg_free(w->full_);
    vg_free(w->tmp_);
    memset(w, 0, sizeof *w);
    w->fd = -1;
    return rc;
}

void store_writer_abort(store_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp_)
        unlink(w->tmp_);
    vg_free(w->full_);
    vg_free(w->tmp_);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}

int store_get(store *s, const char *path, store_obj *out, vg_err *e)
{
    memset(out, 0, sizeof *out);
    int rc = check_path(path, e);
    if (rc != VG_OK)
        return rc;
    char *full = full_path(s, path);
    if (!full)
        return vg_err_set(e, VG_ENOMEM, "out of memory reading object '%s'", path);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? vg_err_set(e, VG_ENOTFOUND, "object '%s' does not exist", path)
                             : vg_err_errno(e, VG_EIO, errno, "cannot open '%s'", full);
        vg_free(full);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = vg_err_errno(e, VG_EIO, errno, "cannot stat '%s'", full);
    } else if (st.st_size == 0) {
        static const char empty[1];
        out->data = empty;
    } else {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            rc = vg_err_errno(e, VG_EIO, errno, "cannot map '%s'", full);
        } else {
            out->data = m;
            out->map_ = m;
            out->map_len_ = (size_t)st.st_size;
        }
    }
    out->len = rc == VG_OK ? (size_t)st.st_size : 0;
    close(fd);
    vg_free(full);
    return rc;
}

void store_obj_release(store_obj *o)
{
    if (o->map_)
        munmap(o->map_, o->map_len_);
    memset(o, 0, sizeof *o);
}

void store_obj_drop_pages(const store_obj *o, size_t off, size_t len)
{
    if (!o->map_ || off >= o->map_len_ || len == 0)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t end = len > o->map_len_ - off ? o->map_len_ : off + len;
    size_t start = off & ~(page - 1);
    /* The pages at both ends may hold neighbouring bytes too: dropping them only
     * costs whoever reads those a page fault, never their contents (a private,
     * read-only mapping of a file that is never rewritten in place). */
    madvise((char *)o->map_ + start, end - start, MADV_DONTNEED);
}

int store_delete(store *s, const char *path, vg_err *e)
{
    int rc = check_path(path, e);
    if (rc != VG_OK)
        return rc;
    char *full = full_path(s, path);
    if (!full)
        return vg_err_set(e, VG_ENOMEM, "out of memory deleting object '%s'", path);
    if (unlink(full) != 0 && errno != ENOENT) {
        rc = vg_err_errno(e, VG_EIO, errno, "cannot delete '%s'", full);
        vg_free(full);
        return rc;
    }
    /* Empty partition and table directories go too, so deletes free inodes. */
    size_t root_len = strlen(s->root);
    for (char *slash = strrchr(full, '/'); slash && (size_t)(slash - full) > root_len;
         slash = strrchr(full, '/')) {
        *slash = '\0';
        if (rmdir(full) != 0)
            break;
    }
    vg_free(full);
    return VG_OK;
}

typedef struct walk {
    store *s;
    store_list_fn fn;
    void *ctx;
    vg_buf rel;
    int stop;
} walk;

static int walk_dir(walk *w, const char *full, vg_err *e)
{
    DIR *d = opendir(full);
    if (!d)
        return errno == ENOENT ? VG_OK : vg_err_errno(e, VG_EIO, errno, "cannot list '%s'", full);
    int rc = VG_OK;
    struct dirent *de;
    size_t rel_len = w->rel.len;
    while (rc == VG_OK && !w->stop && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        w->rel.len = rel_len;
        if (rel_len)
            vg_buf_putc(&w->rel, '/');
        vg_buf_puts(&w->rel, de->d_name);
        vg_buf_putc(&w->rel, '\0');
        w->rel.len--;
        char *child = vg_path_join(full, de->d_name);
        struct stat st;
        if (!child || w->rel.oom) {
            rc = vg_err_set(e, VG_ENOMEM, "out of memory listing the object store");
        } else if (lstat(child, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = walk_dir(w, child, e);
            else if (S_ISREG(st.st_mode))
                w->stop = w->fn(w->ctx, w->rel.data, (uint64_t)st.st_size);
        }
        vg_free(child);
    }
    w->rel.len = rel_len;
    closedir(d);
    return rc;
}

int store_list(store *s, const char *prefix, store_list_fn fn, void *ctx, vg_err *e)
{
    walk w = {s, fn, ctx, {0}, 0};
    vg_buf_init(&w.rel);
    vg_buf_puts(&w.rel, prefix);
    char *full = prefix[0] ? full_path(s, prefix) : vg_strdup(s->root);
    int rc = full && !w.rel.oom ? walk_dir(&w, full, e)
                                : vg_err_set(e, VG_ENOMEM, "out of memory listing the object store");
    vg_free(full);
    vg_buf_free(&w.rel);
    return rc;
}

static int add_size(void *ctx, const char *path, uint64_t size)
{
    (void)path;
    *(uint64_t *)ctx += size;
    return 0;
}

uint64_t store_bytes(store *s, const char *prefix)
{
    uint64_t total = 0;
    vg_err e;
    vg_err_clear(&e);
    store_list(s, prefix, add_size, &total, &e);
    return total;
}
