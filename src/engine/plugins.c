/* engine/plugins.c: the plugin directory.
 *
 * Owns the one rule that keeps plugin code inside --plugin-dir (no absolute paths, no
 * ".." components, and no symbolic link that resolves outside it), finding a plugin (a
 * .py file, or a directory holding __init__.py), writing uploaded files (each one
 * written aside and renamed into place, so a trigger never reads half a file), and
 * listing the files behind triggers for system.plugin_files. */
#include "engine_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int traversal(const char *name, vg_err *e)
{
    return vg_err_set(e, VG_EINVAL,
                      "Path traversal detected: plugin filename '%s' attempts to access files "
                      "outside the plugin directory",
                      name);
}

static bool inside(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Checks a relative name and returns <plugin-dir>/<name> (trailing '/' dropped). The
 * deepest existing ancestor of the target is resolved, so a symbolic link inside the
 * plugin directory that points outside it is refused too. */
int eng_plugin_check_name(engine *g, const char *name, char **out, vg_err *e)
{
    *out = NULL;
    size_t len = strlen(name);
    while (len > 1 && name[len - 1] == '/')
        len--;
    if (len == 0 || (len == 1 && name[0] == '/'))
        return vg_err_set(e, VG_EINVAL, "plugin filename cannot be empty");
    if (name[0] == '/')
        return traversal(name, e);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && name[j] != '/')
            j++;
        if (j - i == 2 && name[i] == '.' && name[i + 1] == '.')
            return traversal(name, e);
        i = j + 1;
    }
    if (memchr(name, '\0', len) || strchr(name, '\\'))
        return traversal(name, e);
    char *path = vg_malloc(strlen(g->plugin_dir) + len + 2);
    if (!path)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    sprintf(path, "%s/%.*s", g->plugin_dir, (int)len, name);
    /* Resolve the deepest existing ancestor. */
    char *probe = vg_strdup(path);
    if (!probe) {
        vg_free(path);
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    }
    int rc = VG_OK;
    for (;;) {
        char *real = realpath(probe, NULL);
        if (real) {
            if (!inside(g->plugin_dir, real))
                rc = traversal(name, e);
            free(real);
            break;
        }
        char *slash = strrchr(probe, '/');
        if (!slash || slash == probe) {
            rc = traversal(name, e);
            break;
        }
        *slash = '\0';
    }
    vg_free(probe);
    if (rc != VG_OK) {
        vg_free(path);
        return rc;
    }
    *out = path;
    return VG_OK;
}

int eng_plugin_path(engine *g, const char *name, char **out, bool *is_dir, vg_err *e)
{
    char *path;
    int rc = eng_plugin_check_name(g, name, &path, e);
    if (rc != VG_OK)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0) {
        rc = vg_err_set(e, VG_ENOTFOUND, "reading plugin file: Plugin not found: %s", path);
    } else if (S_ISDIR(st.st_mode)) {
        char *init = vg_path_join(path, "__init__.py");
        if (!init || stat(init, &st) != 0 || !S_ISREG(st.st_mode))
            rc = vg_err_set(e, VG_ENOTFOUND,
                            "reading plugin file: Multi-file plugin directory must contain "
                            "__init__.py: %s",
                            path);
        vg_free(init);
        *is_dir = true;
    } else if (!S_ISREG(st.st_mode)) {
        rc = vg_err_set(e, VG_ENOTFOUND, "reading plugin file: Plugin not found: %s", path);
    } else if (access(path, R_OK) != 0) {
        rc = vg_err_errno(e, VG_EIO, errno, "reading plugin file: %s", path);
    } else {
        *is_dir = false;
    }
    if (rc != VG_OK) {
        vg_free(path);
        return rc;
    }
    *out = path;
    return VG_OK;
}

/* Creates the parent directories of path (inside the plugin directory). */
static int make_parents(const char *path, vg_err *e)
{
    char *dir = vg_strdup(path);
    if (!dir)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    int rc = VG_OK;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = vg_mkdir_p(dir, e);
    }
    vg_free(dir);
    return rc;
}

int engine_plugin_write(engine *g, const char *name, const char *content, size_t len, vg_err *e)
{
    char *path;
    int rc = eng_plugin_check_name(g, name, &path, e);
    if (rc != VG_OK)
        return rc;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        rc = vg_err_set(e, VG_EINVAL, "'%s' is a directory in the plugin directory", name);
    if (rc == VG_OK)
        rc = make_parents(path, e);
    if (rc == VG_OK)
        rc = vg_durable_write_file(path, content, len, e);
    if (rc == VG_OK)
        VG_INFO(ENG_MOD, "wrote plugin file %s (%zu bytes)", path, len);
    vg_free(path);
    return rc;
}

/* The plugin file name of a live trigger (copied), or an error. */
static int trigger_plugin(engine *g, const char *db, const char *trigger, char **plugin, vg_err *e)
{
    *plugin = NULL;
    catalog *cat = g->cfg.cat;
    catalog_read_lock(cat);
    uint32_t n;
    catalog_trigger **all = catalog_triggers(cat, &n);
    catalog_trigger *found = NULL;
    int matches = 0;
    for (uint32_t i = 0; i < n; i++) {
        catalog_trigger *t = all[i];
        catalog_db *d = catalog_db_get(cat, t->db_id);
        if (t->deleted || !d || d->deleted || strcmp(t->name, trigger) != 0)
            continue;
        if (db && strcmp(d->name, db) != 0)
            continue;
        found = t;
        matches++;
    }
    if (found && matches == 1)
        *plugin = vg_strdup(found->plugin);
    catalog_read_unlock(cat);
    if (matches > 1)
        return vg_err_set(e, VG_EINVAL,
                          "trigger '%s' exists in several databases: name the database (\"db\")",
                          trigger);
    if (!found)
        return vg_err_set(e, VG_ENOTFOUND, "Processing Engine Trigger %s not found", trigger);
    return *plugin ? VG_OK : vg_err_set(e, VG_ENOMEM, "out of memory");
}

int engine_plugin_update(engine *g, const char *db, const char *trigger, const char *content,
                         size_t len, vg_err *e)
{
    char *plugin, *path = NULL;
    bool is_dir = false;
    int rc = trigger_plugin(g, db, trigger, &plugin, e);
    if (rc == VG_OK)
        rc = eng_plugin_path(g, plugin, &path, &is_dir, e);
    if (rc == VG_OK) {
        /* A directory plugin's code starts in its __init__.py. */
        char *target = is_dir ? vg_path_join(path, "__init__.py") : vg_strdup(path);
        rc = target ? vg_durable_write_file(target, content, len, e)
                    : vg_err_set(e, VG_ENOMEM, "out of memory");
        if (rc == VG_OK)
            VG_INFO(ENG_MOD, "updated the plugin of trigger %s: %s", trigger, target);
        vg_free(target);
    }
    vg_free(path);
    vg_free(plugin);
    return rc;
}

/* Removes a directory tree (our own staging directories only). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *p = vg_path_join(path, de->d_name);
            struct stat st;
            if (p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(p);
            else if (p)
                unlink(p);
            vg_free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

int engine_plugin_update_dir(engine *g, const char *db, const char *trigger,
                             const engine_plugin_file *files, size_t nfiles, vg_err *e)
{
    char *plugin, *path = NULL, *stage = NULL, *old = NULL;
    bool is_dir = false;
    int rc = trigger_plugin(g, db, trigger, &plugin, e);
    if (rc == VG_OK)
        rc = eng_plugin_path(g, plugin, &path, &is_dir, e);
    if (rc == VG_OK && !is_dir)
        rc = vg_err_set(e, VG_EINVAL,
                        "the plugin of trigger %s is a file, not a directory: use "
                        "PUT /api/v3/plugins/files",
                        trigger);
    bool has_init = false;
    for (size_t i = 0; rc == VG_OK && i < nfiles; i++) {
        const char *rp = files[i].relative_path;
        if (!rp || !*rp || rp[0] == '/' || strstr(rp, "..") || strchr(rp, '\\'))
            rc = traversal(rp ? rp : "", e);
        has_init |= rp && !strcmp(rp, "__init__.py");
    }
    if (rc == VG_OK && !has_init)
        rc = vg_err_set(e, VG_EINVAL, "Multi-file plugin directory must contain __init__.py");
    if (rc == VG_OK) {
        size_t n = strlen(path) + 32;
        stage = vg_malloc(n);
        old = vg_malloc(n);
        if (!stage || !old)
            rc = vg_err_set(e, VG_ENOMEM, "out of memory");
        else {
            snprintf(stage, n, "%s.vigil-new", path);
            snprintf(old, n, "%s.vigil-old", path);
            remove_tree(stage);
            remove_tree(old);
            rc = vg_mkdir_p(stage, e);
        }
    }
    for (size_t i = 0; rc == VG_OK && i < nfiles; i++) {
        char *fp = vg_path_join(stage, files[i].relative_path);
        rc = fp ? make_parents(fp, e) : vg_err_set(e, VG_ENOMEM, "out of memory");
        if (rc == VG_OK)
            rc = vg_durable_write_file(fp, files[i].content, files[i].len, e);
        vg_free(fp);
    }
    /* Swap: two renames; a crash between them leaves the old tree beside, not lost. */
    if (rc == VG_OK && rename(path, old) != 0)
        rc = vg_err_errno(e, VG_EIO, errno, "cannot move %s aside", path);
    if (rc == VG_OK && rename(stage, path) != 0) {
        rc = vg_err_errno(e, VG_EIO, errno, "cannot move the new files into %s", path);
        rename(old, path);
    }
    if (rc == VG_OK) {
        remove_tree(old);
        VG_INFO(ENG_MOD, "replaced the plugin directory of trigger %s: %s (%zu files)", trigger,
                path, nfiles);
    } else if (stage) {
        remove_tree(stage);
    }
    vg_free(stage);
    vg_free(old);
    vg_free(path);
    vg_free(plugin);
    return rc;
}

/* ---- system.plugin_files ---- */

typedef struct file_row {
    char *trigger;
    char *file_name;
    char *path;
} file_row;

static void add_file(query_sys_sink *sink, const char *trigger, const char *file_name,
                     const char *path, int *rc)
{
    struct stat st;
    if (*rc != VG_OK || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    query_sys_cell cells[5] = {
        {.v.s = trigger},
        {.v.s = file_name},
        {.v.s = path},
        {.v.i = (int64_t)st.st_size},
        {.v.i = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000},
    };
    *rc = query_sys_add_row(sink, cells);
}

/* Every .py file under dir (skipping __pycache__), named relative to base. */
static void add_dir(query_sys_sink *sink, const char *trigger, const char *dir, const char *rel,
                    int depth, int *rc)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while (*rc == VG_OK && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.' || !strcmp(nm, "__pycache__"))
            continue;
        char *p = vg_path_join(dir, nm);
        char *r = rel[0] ? vg_path_join(rel, nm) : vg_strdup(nm);
        struct stat st;
        if (p && r && stat(p, &st) == 0) {
            size_t n = strlen(nm);
            if (S_ISDIR(st.st_mode) && depth < 16)
                add_dir(sink, trigger, p, r, depth + 1, rc);
            else if (n > 3 && !strcmp(nm + n - 3, ".py"))
                add_file(sink, trigger, r, p, rc);
        }
        vg_free(p);
        vg_free(r);
    }
    closedir(d);
}

int eng_plugin_files_fill(engine *g, query_sys_sink *sink)
{
    /* Copy the list first: file system calls must not run under the catalog lock. */
    catalog *cat = g->cfg.cat;
    catalog_read_lock(cat);
    uint32_t n;
    catalog_trigger **all = catalog_triggers(cat, &n);
    file_row *rows = vg_calloc(n + 1, sizeof *rows);
    uint32_t k = 0;
    for (uint32_t i = 0; rows && i < n; i++) {
        catalog_db *d = catalog_db_get(cat, all[i]->db_id);
        if (all[i]->deleted || !d || d->deleted)
            continue;
        rows[k].trigger = vg_strdup(all[i]->name);
        rows[k].file_name = vg_strdup(all[i]->plugin);
        k++;
    }
    catalog_read_unlock(cat);
    if (!rows)
        return VG_ENOMEM;
    int rc = VG_OK;
    for (uint32_t i = 0; i < k && rc == VG_OK; i++) {
        vg_err e;
        bool is_dir = false;
        if (!rows[i].trigger || !rows[i].file_name) {
            rc = VG_ENOMEM;
            break;
        }
        if (eng_plugin_path(g, rows[i].file_name, &rows[i].path, &is_dir, &e) != VG_OK)
            continue; /* gone since: nothing to show */
        if (is_dir)
            add_dir(sink, rows[i].trigger, rows[i].path, "", 0, &rc);
        else
            add_file(sink, rows[i].trigger, rows[i].file_name, rows[i].path, &rc);
    }
    for (uint32_t i = 0; i < k; i++) {
        vg_free(rows[i].trigger);
        vg_free(rows[i].file_name);
        vg_free(rows[i].path);
    }
    vg_free(rows);
    return rc;
}
