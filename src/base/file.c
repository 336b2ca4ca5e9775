/* base/file.c: durable-file helpers: full writes and reads, fsync with the
 * fsync-failure-is-fatal policy, and publish-by-rename. */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vg_mkdir_p(const char *path, vg_err *e)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return vg_err_set(e, VG_EINVAL, "invalid directory path '%s'", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return vg_err_errno(e, VG_EIO, errno, "cannot create directory '%s'", tmp);
        tmp[i] = c;
    }
    return VG_OK;
}

int vg_write_all(int fd, const void *p, size_t n, vg_err *e)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return vg_err_errno(e, VG_EIO, errno, "write failed");
        }
        c += w;
        n -= (size_t)w;
    }
    return VG_OK;
}

int vg_pread_all(int fd, void *p, size_t n, uint64_t off, size_t *got, vg_err *e)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)p + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return vg_err_errno(e, VG_EIO, errno, "read failed");
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return VG_OK;
}

void vg_fsync_or_die(int fd, const char *what)
{
    if (fsync(fd) != 0) {
        VG_ERROR("base", "fsync of %s failed: %s; stopping, because data acknowledged after a "
                         "failed fsync could be lost",
                 what, strerror(errno));
        abort();
    }
}

void vg_fdatasync_or_die(int fd, const char *what)
{
    if (fdatasync(fd) != 0) {
        VG_ERROR("base", "fdatasync of %s failed: %s; stopping, because data acknowledged after "
                         "a failed fsync could be lost",
                 what, strerror(errno));
        abort();
    }
}

void vg_fsync_dir_or_die(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        VG_ERROR("base", "cannot open directory %s to fsync it: %s", dir, strerror(errno));
        abort();
    }
    vg_fsync_or_die(fd, dir);
    close(fd);
}

int vg_durable_publish(int fd, const char *tmp, const char *path, vg_err *e)
{
    char dir[4200];
    /* before the rename: an error after it would report a published file as lost */
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        close(fd);
        unlink(tmp);
        return vg_err_set(e, VG_EINVAL, "path too long: %s", path);
    }
    vg_fsync_or_die(fd, tmp);
    close(fd);
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return vg_err_errno(e, VG_EIO, err, "cannot rename '%s' to '%s'", tmp, path);
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    vg_fsync_dir_or_die(dir);
    return VG_OK;
}

int vg_durable_write_file(const char *path, const void *p, size_t n, vg_err *e)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return vg_err_set(e, VG_EINVAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vg_err_errno(e, VG_EIO, errno, "cannot create '%s'", tmp);
    if (vg_write_all(fd, p, n, e) != VG_OK) {
        close(fd);
        unlink(tmp);
        return e ? e->code : VG_EIO;
    }
    return vg_durable_publish(fd, tmp, path, e);
}

int vg_read_file(const char *path, vg_buf *b, vg_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vg_err_errno(e, errno == ENOENT ? VG_ENOTFOUND : VG_EIO, errno,
                            "cannot open '%s'", path);
    for (;;) {
        if (!vg_buf_reserve(b, 65536)) {
            close(fd);
            return vg_err_set(e, VG_ENOMEM, "out of memory reading '%s'", path);
        }
        ssize_t r = read(fd, b->data + b->len, b->cap - b->len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            return vg_err_errno(e, VG_EIO, err, "cannot read '%s'", path);
        }
        if (r == 0)
            break;
        b->len += (size_t)r;
        b->data[b->len] = '\0';
    }
    close(fd);
    return VG_OK;
}

char *vg_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/')
        la--;
    char *p = vg_malloc(la + 1 + lb + 1);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}
