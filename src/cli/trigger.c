/* cli/trigger.c: the processing-engine commands: `vigil create trigger`,
 * `vigil update trigger`, `vigil enable|disable|delete trigger`, `vigil show plugins`,
 * `vigil test wal_plugin` and `vigil test schedule_plugin`, as InfluxDB 3's `influxdb3`
 * spells them. Messages on success are Core's, word for word. */
#include "cli_int.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const cli_opt opt_trigger_spec = {
    .name = "trigger-spec",
    .metavar = "SPEC",
    .help = "When the trigger fires: table:<TABLE>, all_tables, every:<DURATION>, "
            "cron:<6 or 7 fields, seconds first> or request:<PATH> (required)",
};
static const cli_opt opt_path = {
    .name = "path",
    .short_name = 'p',
    .metavar = "PATH",
    .help = "The plugin: a .py file or a directory with __init__.py, relative to the server's "
            "--plugin-dir (or a local path with --upload)",
};
static const cli_opt opt_plugin_filename = {
    .name = "plugin-filename",
    .metavar = "PATH",
    .help = "Deprecated spelling of --path",
};
static const cli_opt opt_trigger_args = {
    .name = "trigger-arguments",
    .metavar = "K=V,...",
    .help = "Arguments passed to the plugin as `args`, e.g. threshold=90,unit=C",
};
static const cli_opt opt_upload = {
    .name = "upload",
    .help = "Upload the local file (or directory) given by --path to the server's plugin "
            "directory first",
};
static const cli_opt opt_error_behavior = {
    .name = "error-behavior",
    .metavar = "BEHAVIOR",
    .def = "log",
    .help = "What a failed call does: log, retry (with backoff) or disable (the trigger)",
};
static const cli_opt opt_disabled = {
    .name = "disabled",
    .help = "Create the trigger disabled",
};
static const cli_opt opt_run_async = {
    .name = "run-asynchronous",
    .help = "Let calls of this trigger overlap (a scheduled trigger still never overlaps "
            "itself)",
};
static const cli_opt opt_trigger_name = {
    .name = "trigger-name",
    .short_name = 't',
    .metavar = "NAME",
    .help = "The trigger whose plugin code is replaced (required)",
};
static const cli_opt opt_force = {
    .name = "force",
    .help = "Delete the trigger even if it is enabled",
};
static const cli_opt opt_lp = {
    .name = "lp",
    .metavar = "LINE_PROTOCOL",
    .help = "Line protocol the plugin receives as a write",
};
static const cli_opt opt_lp_file = {
    .name = "file",
    .short_name = 'f',
    .metavar = "FILE",
    .help = "Read the line protocol from FILE",
};
static const cli_opt opt_input_args = {
    .name = "input-arguments",
    .metavar = "K=V,...",
    .help = "Arguments passed to the plugin as `args`",
};
static const cli_opt opt_cache_name = {
    .name = "cache-name",
    .metavar = "NAME",
    .help = "Cache to use across test runs (kept 30 minutes)",
};
static const cli_opt opt_schedule = {
    .name = "schedule",
    .metavar = "CRON",
    .help = "Cron expression whose next time is the call time (default: * * * * * *)",
};

const cli_opt *const cli_create_trigger_opts[] = {
    &cli_opt_host,       &cli_opt_token,       &cli_opt_database, &opt_trigger_spec,
    &opt_path,           &opt_plugin_filename, &opt_trigger_args, &opt_upload,
    &opt_error_behavior, &opt_disabled,        &opt_run_async,    NULL,
};
const cli_opt *const cli_update_trigger_opts[] = {
    &cli_opt_host, &cli_opt_token, &cli_opt_database, &opt_trigger_name, &opt_path,
    &opt_upload,   NULL,
};
const cli_opt *const cli_trigger_toggle_opts[] = {
    &cli_opt_host,
    &cli_opt_token,
    &cli_opt_database,
    NULL,
};
const cli_opt *const cli_delete_trigger_opts[] = {
    &cli_opt_host, &cli_opt_token, &cli_opt_database, &opt_force, NULL,
};
const cli_opt *const cli_show_plugins_opts[] = {
    &cli_opt_host,
    &cli_opt_token,
    &cli_opt_format,
    NULL,
};
const cli_opt *const cli_test_wal_opts[] = {
    &cli_opt_host, &cli_opt_token,  &cli_opt_database, &opt_lp,
    &opt_lp_file,  &opt_input_args, &opt_cache_name,   NULL,
};
const cli_opt *const cli_test_schedule_opts[] = {
    &cli_opt_host,   &cli_opt_token, &cli_opt_database, &opt_schedule, &opt_input_args,
    &opt_cache_name, NULL,
};

static bool ok_status(int status)
{
    return status >= 200 && status < 300;
}

static const char *need_database(const cli_args *a)
{
    const char *db = cli_get(a, "database");
    if (!db || !*db)
        cli_usage_error(a->cmd, "no database given: use --database/-d NAME or set "
                                "VIGIL_DATABASE_NAME");
    return db && *db ? db : NULL;
}

/* Sends a JSON body; returns the HTTP status, or -1 after printing a transport error. */
static int send_json(client *c, const char *method, const char *path, const vg_buf *body,
                     client_response *r)
{
    if (body->oom)
        return cli_fail("out of memory"), -1;
    client_request req = {.method = method,
                          .path = path,
                          .content_type = "application/json",
                          .body = body->data,
                          .body_len = body->len};
    return cli_send(c, &req, r) == CLI_EXIT_OK ? r->status : -1;
}

/* "k=v,k2=v2" as a JSON object member named key: pairs split at ',', each at its first
 * '=' (so a value may hold '=', as Core's CLI takes "query_path=/m?format=json"). */
static int put_args(const cli_args *a, vg_jw *w, const char *key, const char *s)
{
    for (const char *p = s; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (n && (!eq || eq == p))
            return cli_usage_error(a->cmd, "invalid argument '%.*s': expected key=value", (int)n,
                                   p);
        p += n + (end ? 1 : 0);
    }
    vg_jw_key(w, key);
    vg_jw_obj_begin(w);
    for (const char *p = s; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (n) {
            char *k = vg_strndup(p, (size_t)(eq - p));
            if (!k)
                return cli_fail("out of memory");
            vg_jw_key(w, k);
            vg_jw_strn(w, eq + 1, n - (size_t)(eq - p) - 1);
            vg_free(k);
        }
        p += n + (end ? 1 : 0);
    }
    vg_jw_obj_end(w);
    return CLI_EXIT_OK;
}

static const char *base_name(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *s = path + n;
    while (s > path && s[-1] != '/')
        s--;
    return s;
}

/* ---- uploading ---- */

typedef struct upload {
    const cli_args *a;
    client *c;
    const char *db;
    int rc;
} upload;

static int upload_file(upload *u, const char *local, const char *name)
{
    vg_buf content, body;
    vg_buf_init(&content);
    vg_buf_init(&body);
    vg_err e = {0};
    int rc = CLI_EXIT_OK;
    if (vg_read_file(local, &content, &e) != VG_OK) {
        rc = cli_fail("cannot read %s: %s", local, e.msg);
        goto out;
    }
    vg_jw w;
    vg_jw_init(&w, &body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "db");
    vg_jw_str(&w, u->db);
    vg_jw_key(&w, "plugin_name");
    vg_jw_str(&w, name);
    vg_jw_key(&w, "content");
    vg_jw_strn(&w, content.data ? content.data : "", content.len);
    vg_jw_obj_end(&w);
    client_response r;
    client_response_init(&r);
    int st = send_json(u->c, "POST", "/api/v3/plugins/files", &body, &r);
    if (st < 0)
        rc = CLI_EXIT_FAIL;
    else if (!ok_status(st))
        rc = cli_server_error(&r, "cannot upload %s", local);
    client_response_free(&r);
out:
    vg_buf_free(&content);
    vg_buf_free(&body);
    return rc;
}

/* Every .py file under dir (skipping __pycache__), uploaded as <prefix>/<relative>. */
static int upload_tree(upload *u, const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("cannot read directory %s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.' || !strcmp(nm, "__pycache__"))
            continue;
        char *local = vg_path_join(dir, nm), *name = vg_path_join(prefix, nm);
        struct stat st;
        if (!local || !name)
            rc = cli_fail("out of memory");
        else if (stat(local, &st) == 0 && S_ISDIR(st.st_mode))
            rc = upload_tree(u, local, name);
        else if (strlen(nm) > 3 && !strcmp(nm + strlen(nm) - 3, ".py"))
            rc = upload_file(u, local, name);
        vg_free(local);
        vg_free(name);
    }
    closedir(d);
    return rc;
}

/* Uploads --path; *plugin receives the name the trigger then refers to. */
static int upload_plugin(const cli_args *a, client *c, const char *db, const char *path,
                         const char **plugin)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cli_fail("File not found: %s", path);
    upload u = {a, c, db, CLI_EXIT_OK};
    *plugin = base_name(path);
    if (S_ISDIR(st.st_mode)) {
        char *init = vg_path_join(path, "__init__.py");
        struct stat ist;
        bool ok = init && stat(init, &ist) == 0;
        vg_free(init);
        if (!ok)
            return cli_fail("Multi-file plugin directory must contain __init__.py: %s", path);
        return upload_tree(&u, path, *plugin);
    }
    return upload_file(&u, path, *plugin);
}

/* ---- create / enable / disable / delete ---- */

int cli_create_trigger(const cli_args *a)
{
    const char *db = need_database(a);
    if (!db)
        return CLI_EXIT_USAGE;
    if (a->npos < 1)
        return cli_usage_error(a->cmd, "no trigger name given");
    const char *name = a->pos[0];
    const char *spec = cli_get(a, "trigger-spec");
    const char *path = cli_get(a, "path");
    if (!path)
        path = cli_get(a, "plugin-filename");
    if (!spec)
        return cli_usage_error(a->cmd, "--trigger-spec is required");
    if (!path)
        return cli_usage_error(a->cmd, "Either --path or --plugin-filename must be provided");
    const char *eb = cli_get(a, "error-behavior");
    if (strcmp(eb, "log") && strcmp(eb, "retry") && strcmp(eb, "disable"))
        return cli_usage_error(a->cmd,
                               "invalid --error-behavior '%s' (expected log, retry or "
                               "disable)",
                               eb);
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    int rc = CLI_EXIT_OK;
    const char *plugin = path;
    if (cli_flag(a, "upload"))
        rc = upload_plugin(a, c, db, path, &plugin);
    vg_buf body;
    vg_buf_init(&body);
    vg_jw w;
    vg_jw_init(&w, &body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "db");
    vg_jw_str(&w, db);
    vg_jw_key(&w, "plugin_filename");
    vg_jw_str(&w, plugin);
    vg_jw_key(&w, "trigger_name");
    vg_jw_str(&w, name);
    vg_jw_key(&w, "trigger_specification");
    vg_jw_str(&w, spec);
    vg_jw_key(&w, "trigger_settings");
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "run_async");
    vg_jw_bool(&w, cli_flag(a, "run-asynchronous"));
    vg_jw_key(&w, "error_behavior");
    vg_jw_str(&w, eb);
    vg_jw_obj_end(&w);
    const char *args = cli_get(a, "trigger-arguments");
    if (rc == CLI_EXIT_OK && args)
        rc = put_args(a, &w, "trigger_arguments", args);
    vg_jw_key(&w, "disabled");
    vg_jw_bool(&w, cli_flag(a, "disabled"));
    vg_jw_obj_end(&w);
    client_response r;
    client_response_init(&r);
    if (rc == CLI_EXIT_OK) {
        int st = send_json(c, "POST", "/api/v3/configure/processing_engine_trigger", &body, &r);
        if (st < 0)
            rc = CLI_EXIT_FAIL;
        else if (!ok_status(st))
            rc = cli_server_error(&r, "Failed to create trigger");
        else
            printf("Trigger %s created successfully\n", name);
    }
    client_response_free(&r);
    vg_buf_free(&body);
    client_free(c);
    return rc;
}

static int trigger_call(const cli_args *a, const char *method, const char *path, bool force,
                        const char *done_fmt, const char *fail_what)
{
    const char *db = need_database(a);
    if (!db)
        return CLI_EXIT_USAGE;
    if (a->npos < 1)
        return cli_usage_error(a->cmd, "no trigger name given");
    const char *name = a->pos[0];
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    vg_buf q;
    vg_buf_init(&q);
    client_query_add(&q, "db", db);
    client_query_add(&q, "trigger_name", name);
    if (force)
        client_query_add(&q, "force", "true");
    client_request req = {.method = method, .path = path, .query = q.data};
    client_response r;
    client_response_init(&r);
    int rc = q.oom ? cli_fail("out of memory") : cli_send(c, &req, &r);
    if (rc == CLI_EXIT_OK && !ok_status(r.status))
        rc = cli_server_error(&r, "%s %s", fail_what, name);
    else if (rc == CLI_EXIT_OK)
        printf(done_fmt, name);
    client_response_free(&r);
    vg_buf_free(&q);
    client_free(c);
    return rc;
}

int cli_enable_trigger(const cli_args *a)
{
    return trigger_call(a, "POST", "/api/v3/configure/processing_engine_trigger/enable", false,
                        "Trigger %s enabled successfully\n", "cannot enable trigger");
}

int cli_disable_trigger(const cli_args *a)
{
    return trigger_call(a, "POST", "/api/v3/configure/processing_engine_trigger/disable", false,
                        "Trigger %s disabled successfully\n", "cannot disable trigger");
}

int cli_delete_trigger(const cli_args *a)
{
    return trigger_call(a, "DELETE", "/api/v3/configure/processing_engine_trigger",
                        cli_flag(a, "force"), "Trigger %s deleted successfully\n",
                        "cannot delete trigger");
}

/* ---- update ---- */

/* Appends {"relative_path", "content"} for every .py file under dir. */
static int collect_tree(const char *dir, const char *rel, vg_jw *w)
{
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("cannot read directory %s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.' || !strcmp(nm, "__pycache__"))
            continue;
        char *local = vg_path_join(dir, nm);
        char *r = rel[0] ? vg_path_join(rel, nm) : vg_strdup(nm);
        struct stat st;
        if (!local || !r) {
            rc = cli_fail("out of memory");
        } else if (stat(local, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = collect_tree(local, r, w);
        } else if (strlen(nm) > 3 && !strcmp(nm + strlen(nm) - 3, ".py")) {
            vg_buf content;
            vg_buf_init(&content);
            vg_err e = {0};
            if (vg_read_file(local, &content, &e) != VG_OK) {
                rc = cli_fail("cannot read %s: %s", local, e.msg);
            } else {
                vg_jw_obj_begin(w);
                vg_jw_key(w, "relative_path");
                vg_jw_str(w, r);
                vg_jw_key(w, "content");
                vg_jw_strn(w, content.data ? content.data : "", content.len);
                vg_jw_obj_end(w);
            }
            vg_buf_free(&content);
        }
        vg_free(local);
        vg_free(r);
    }
    closedir(d);
    return rc;
}

int cli_update_trigger(const cli_args *a)
{
    const char *db = need_database(a);
    if (!db)
        return CLI_EXIT_USAGE;
    const char *name = cli_get(a, "trigger-name");
    const char *path = cli_get(a, "path");
    if (!name)
        return cli_usage_error(a->cmd, "--trigger-name is required");
    if (!path)
        return cli_usage_error(a->cmd, "--path is required");
    struct stat st;
    if (stat(path, &st) != 0)
        return cli_fail("Path does not exist: %s", path);
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    vg_buf body;
    vg_buf_init(&body);
    vg_jw w;
    vg_jw_init(&w, &body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "db");
    vg_jw_str(&w, db);
    vg_jw_key(&w, "plugin_name");
    vg_jw_str(&w, name);
    int rc = CLI_EXIT_OK;
    const char *endpoint = "/api/v3/plugins/files";
    if (S_ISDIR(st.st_mode)) {
        /* The whole directory in one request: the server swaps it in at once. */
        endpoint = "/api/v3/plugins/directory";
        vg_jw_key(&w, "files");
        vg_jw_arr_begin(&w);
        rc = collect_tree(path, "", &w);
        vg_jw_arr_end(&w);
    } else {
        vg_buf content;
        vg_buf_init(&content);
        vg_err e = {0};
        if (vg_read_file(path, &content, &e) != VG_OK)
            rc = cli_fail("cannot read %s: %s", path, e.msg);
        vg_jw_key(&w, "content");
        vg_jw_strn(&w, content.data ? content.data : "", content.len);
        vg_buf_free(&content);
    }
    vg_jw_obj_end(&w);
    client_response r;
    client_response_init(&r);
    if (rc == CLI_EXIT_OK) {
        int status = send_json(c, "PUT", endpoint, &body, &r);
        if (status < 0)
            rc = CLI_EXIT_FAIL;
        else if (!ok_status(status))
            rc = cli_server_error(&r, "cannot update the plugin of trigger %s", name);
        else
            printf("Plugin '%s' updated successfully\n", name);
    }
    client_response_free(&r);
    vg_buf_free(&body);
    client_free(c);
    return rc;
}

/* ---- show plugins ---- */

static const char *const plugin_cols[] = {"plugin_name", "file_name",     "file_path",
                                          "size_bytes",  "last_modified", NULL};

int cli_show_plugins(const cli_args *a)
{
    const char *format = cli_get(a, "format");
    bool pretty = !strcmp(format, "pretty");
    if (!pretty && strcmp(format, "json") && strcmp(format, "jsonl") && strcmp(format, "csv"))
        return cli_usage_error(a->cmd, "unknown format '%s' (expected pretty, json, jsonl or csv)",
                               format);
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    vg_buf q;
    vg_buf_init(&q);
    /* As Core: the server-wide table, queried in `_internal`. */
    client_query_add(&q, "db", "_internal");
    client_query_add(&q, "q", "SELECT * FROM system.plugin_files ORDER BY plugin_name, file_name");
    client_query_add(&q, "format", pretty ? "json" : format);
    client_request req = {.method = "GET", .path = "/api/v3/query_sql", .query = q.data};
    client_response r;
    client_response_init(&r);
    int rc = q.oom ? cli_fail("out of memory") : cli_send(c, &req, &r);
    if (rc == CLI_EXIT_OK && !ok_status(r.status)) {
        rc = cli_server_error(&r, "cannot list plugins");
    } else if (rc == CLI_EXIT_OK && pretty) {
        vg_err e = {0};
        if (cli_print_table(r.body.data ? r.body.data : "", r.body.len, plugin_cols, stdout, &e) !=
            VG_OK)
            rc = cli_fail("%s", e.msg);
    } else if (rc == CLI_EXIT_OK) {
        cli_print_body(&r);
    }
    client_response_free(&r);
    vg_buf_free(&q);
    client_free(c);
    return rc;
}

/* ---- test ---- */

/* Prints the server's JSON answer indented, as Core's CLI does. */
static int print_pretty_json(const client_response *r)
{
    json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    if (!root) {
        cli_print_body(r);
        return CLI_EXIT_OK;
    }
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(root);
    return s ? CLI_EXIT_OK : cli_fail("out of memory");
}

static int run_test(const cli_args *a, bool is_wal)
{
    const char *db = need_database(a);
    if (!db)
        return CLI_EXIT_USAGE;
    if (a->npos < 1)
        return cli_usage_error(a->cmd, "no plugin file name given");
    vg_buf lp;
    vg_buf_init(&lp);
    if (is_wal) {
        const char *inline_lp = cli_get(a, "lp"), *file = cli_get(a, "file");
        if (inline_lp) {
            vg_buf_puts(&lp, inline_lp);
        } else if (file) {
            vg_err e = {0};
            if (vg_read_file(file, &lp, &e) != VG_OK) {
                vg_buf_free(&lp);
                return cli_fail("unable to read input file: %s", e.msg);
            }
        } else {
            vg_buf_free(&lp);
            return cli_usage_error(a->cmd, "either --lp or --file must be provided");
        }
    }
    vg_buf body;
    vg_buf_init(&body);
    vg_jw w;
    vg_jw_init(&w, &body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "filename");
    vg_jw_str(&w, a->pos[0]);
    vg_jw_key(&w, "database");
    vg_jw_str(&w, db);
    if (is_wal) {
        vg_jw_key(&w, "input_lp");
        vg_jw_strn(&w, lp.data ? lp.data : "", lp.len);
    } else if (cli_get(a, "schedule")) {
        vg_jw_key(&w, "schedule");
        vg_jw_str(&w, cli_get(a, "schedule"));
    }
    if (cli_get(a, "cache-name")) {
        vg_jw_key(&w, "cache_name");
        vg_jw_str(&w, cli_get(a, "cache-name"));
    }
    int rc = CLI_EXIT_OK;
    if (cli_get(a, "input-arguments"))
        rc = put_args(a, &w, "input_arguments", cli_get(a, "input-arguments"));
    vg_jw_obj_end(&w);
    client *c = rc == CLI_EXIT_OK ? cli_connect(a) : NULL;
    if (rc == CLI_EXIT_OK && !c)
        rc = CLI_EXIT_USAGE;
    client_response r;
    client_response_init(&r);
    if (rc == CLI_EXIT_OK) {
        int st = send_json(c, "POST",
                           is_wal ? "/api/v3/plugin_test/wal" : "/api/v3/plugin_test/schedule",
                           &body, &r);
        if (st < 0)
            rc = CLI_EXIT_FAIL;
        else if (!ok_status(st))
            rc = cli_server_error(&r, "cannot test plugin %s", a->pos[0]);
        else
            rc = print_pretty_json(&r);
    }
    client_response_free(&r);
    client_free(c);
    vg_buf_free(&body);
    vg_buf_free(&lp);
    return rc;
}

int cli_test_wal_plugin(const cli_args *a)
{
    return run_test(a, true);
}

int cli_test_schedule_plugin(const cli_args *a)
{
    return run_test(a, false);
}
