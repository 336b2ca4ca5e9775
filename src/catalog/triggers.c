/* catalog/triggers.c: processing-engine trigger definitions in the catalog.
 *
 * Owns the in-memory list of triggers (every trigger ever created, in id order;
 * deleted ones stay, marked), the three trigger mutations and their log ops (kinds
 * 40..42, layout in catalog/README.md), and their replay. The catalog stores what the
 * engine validated; it checks only what keeps the catalog itself consistent: names
 * unique among the live triggers of a database, dense ids, known ids in later ops. */
#include "catalog_int.h"

#include <stdio.h>
#include <string.h>

enum {
    OP_TRIGGER_CREATE = 40,
    OP_TRIGGER_SET_DISABLED = 41,
    OP_TRIGGER_DELETE = 42,
};

#define FLAG_RUN_ASYNC 1u
#define FLAG_DISABLED 2u

struct cat_triggers {
    catalog_trigger **all; /* indexed by id */
    uint32_t n;
    uint32_t cap;
};

/* ---- objects ---- */

static void trigger_free(catalog_trigger *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->nargs; i++) {
        vg_free(t->args[i].key);
        vg_free(t->args[i].value);
    }
    vg_free(t->args);
    vg_free(t->name);
    vg_free(t->plugin);
    vg_free(t->spec);
    vg_free(t);
}

void cat_trigger_free_all(catalog *c)
{
    struct cat_triggers *ts = c->triggers;
    if (!ts)
        return;
    for (uint32_t i = 0; i < ts->n; i++)
        trigger_free(ts->all[i]);
    vg_free(ts->all);
    vg_free(ts);
    c->triggers = NULL;
}

static struct cat_triggers *triggers_of(catalog *c)
{
    if (!c->triggers)
        c->triggers = vg_calloc(1, sizeof *c->triggers);
    return c->triggers;
}

/* A (len, bytes) pair as it comes out of the log or from the caller. */
typedef struct slice {
    const char *p;
    uint32_t len;
} slice;

static slice sl_c(const char *s)
{
    return (slice){s ? s : "", (uint32_t)(s ? strlen(s) : 0)};
}

static bool sl_eq_c(slice s, const char *c)
{
    return strlen(c) == s.len && memcmp(c, s.p, s.len) == 0;
}

/* The fields of a create op, decoded or from the caller. */
typedef struct create_op {
    uint32_t id, db_id;
    uint8_t flags, eb;
    slice name, plugin, spec;
    uint32_t nargs;
    slice *keys, *vals;
} create_op;

static catalog_trigger *find_live(struct cat_triggers *ts, uint32_t db_id, slice name)
{
    for (uint32_t i = 0; ts && i < ts->n; i++) {
        catalog_trigger *t = ts->all[i];
        if (!t->deleted && t->db_id == db_id && sl_eq_c(name, t->name))
            return t;
    }
    return NULL;
}

/* Builds the object and appends it; all or nothing (VG_ENOMEM). */
static int apply_create(catalog *c, const create_op *op, catalog_trigger **out)
{
    struct cat_triggers *ts = triggers_of(c);
    if (!ts)
        return VG_ENOMEM;
    if (ts->n == ts->cap) {
        uint32_t cap = ts->cap ? ts->cap * 2 : 8;
        catalog_trigger **all = vg_realloc(ts->all, cap * sizeof *all);
        if (!all)
            return VG_ENOMEM;
        ts->all = all;
        ts->cap = cap;
    }
    catalog_trigger *t = vg_calloc(1, sizeof *t);
    if (!t)
        return VG_ENOMEM;
    t->id = op->id;
    t->db_id = op->db_id;
    t->run_async = (op->flags & FLAG_RUN_ASYNC) != 0;
    t->disabled = (op->flags & FLAG_DISABLED) != 0;
    t->error_behavior = (catalog_error_behavior)op->eb;
    t->name = vg_strndup(op->name.p, op->name.len);
    t->plugin = vg_strndup(op->plugin.p, op->plugin.len);
    t->spec = vg_strndup(op->spec.p, op->spec.len);
    t->args = op->nargs ? vg_calloc(op->nargs, sizeof *t->args) : NULL;
    bool ok = t->name && t->plugin && t->spec && (t->args || !op->nargs);
    for (uint32_t i = 0; ok && i < op->nargs; i++) {
        t->args[i].key = vg_strndup(op->keys[i].p, op->keys[i].len);
        t->args[i].value = vg_strndup(op->vals[i].p, op->vals[i].len);
        t->nargs = i + 1;
        ok = t->args[i].key && t->args[i].value;
    }
    if (!ok) {
        trigger_free(t);
        return VG_ENOMEM;
    }
    ts->all[ts->n++] = t;
    if (out)
        *out = t;
    return VG_OK;
}

/* ---- encoding ---- */

static void put_u8(vg_buf *b, uint8_t v)
{
    vg_buf_append(b, &v, 1);
}

static void put_u32(vg_buf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    vg_buf_append(b, t, 4);
}

static void put_str(vg_buf *b, slice s)
{
    put_u32(b, s.len);
    vg_buf_append(b, s.p, s.len);
}

static size_t create_size(const create_op *op)
{
    size_t n = 1 + 4 + 4 + 1 + 1 + 4 + op->name.len + 4 + op->plugin.len + 4 + op->spec.len + 4;
    for (uint32_t i = 0; i < op->nargs; i++)
        n += 8 + op->keys[i].len + op->vals[i].len;
    return n;
}

static void queue_create(catalog *c, const create_op *op)
{
    vg_buf *b = &c->pending;
    put_u8(b, OP_TRIGGER_CREATE);
    put_u32(b, op->id);
    put_u32(b, op->db_id);
    put_u8(b, op->flags);
    put_u8(b, op->eb);
    put_str(b, op->name);
    put_str(b, op->plugin);
    put_str(b, op->spec);
    put_u32(b, op->nargs);
    for (uint32_t i = 0; i < op->nargs; i++) {
        put_str(b, op->keys[i]);
        put_str(b, op->vals[i]);
    }
    c->npending++;
}

static void queue_delete(catalog *c, uint32_t id)
{
    put_u8(&c->pending, OP_TRIGGER_DELETE);
    put_u32(&c->pending, id);
    c->npending++;
}

/* The create op of t as it stands: its disabled flag is the current state, so a
 * checkpoint needs no state op (replay_create restores it from the flags). */
int cat_trigger_image(catalog *c, const catalog_trigger *t, cat_reserve_fn reserve, void *ctx,
                      vg_err *e)
{
    slice *kv = vg_malloc((2 * (size_t)t->nargs + 1) * sizeof *kv);
    if (!kv)
        return vg_err_set(e, VG_ENOMEM, "out of memory writing trigger '%s'", t->name);
    create_op op = {
        .id = t->id,
        .db_id = t->db_id,
        .flags = (uint8_t)((t->run_async ? FLAG_RUN_ASYNC : 0) | (t->disabled ? FLAG_DISABLED : 0)),
        .eb = (uint8_t)t->error_behavior,
        .name = sl_c(t->name),
        .plugin = sl_c(t->plugin),
        .spec = sl_c(t->spec),
        .nargs = t->nargs,
        .keys = kv,
        .vals = kv + t->nargs,
    };
    for (uint32_t i = 0; i < t->nargs; i++) {
        op.keys[i] = sl_c(t->args[i].key);
        op.vals[i] = sl_c(t->args[i].value);
    }
    /* A deleted trigger is re-created too: ids are dense, and the next create must
     * get the id it would have got. Its delete follows at once, so its name (free
     * again) never meets a later trigger's. */
    int rc = reserve(ctx, create_size(&op) + (t->deleted ? 1 + 4 : 0));
    if (rc == VG_OK) {
        queue_create(c, &op);
        if (t->deleted)
            queue_delete(c, t->id);
    }
    vg_free(kv);
    return rc;
}

/* ---- public mutations ---- */

catalog_trigger *catalog_trigger_find(catalog *c, const catalog_db *db, const char *name)
{
    if (!db || db->deleted)
        return NULL;
    return find_live(c->triggers, db->id, sl_c(name));
}

catalog_trigger **catalog_triggers(catalog *c, uint32_t *n)
{
    *n = c->triggers ? c->triggers->n : 0;
    return c->triggers ? c->triggers->all : NULL;
}

static int check_text(const char *what, const char *s, vg_err *e)
{
    if (!s || !*s)
        return vg_err_set(e, VG_EINVAL, "trigger %s cannot be empty", what);
    if (strlen(s) > VG_LIMIT_NAME_BYTES)
        return vg_err_set(e, VG_EINVAL, "trigger %s too long: max %u bytes", what,
                          (unsigned)VG_LIMIT_NAME_BYTES);
    return VG_OK;
}

int catalog_trigger_create(catalog *c, catalog_db *db, const catalog_trigger_def *def,
                           catalog_trigger **out, vg_err *e)
{
    int rc;
    if (db->deleted)
        return vg_err_set(e, VG_ENOTFOUND, "database '%s' has been deleted", db->name);
    if ((rc = check_text("name", def->name, e)) || (rc = check_text("plugin", def->plugin, e)) ||
        (rc = check_text("specification", def->spec, e)))
        return rc;
    if ((unsigned)def->error_behavior > CATALOG_ON_ERROR_DISABLE)
        return vg_err_set(e, VG_EINVAL, "invalid error behavior %d", (int)def->error_behavior);
    if (catalog_trigger_find(c, db, def->name))
        return vg_err_set(e, VG_EEXISTS,
                          "Cannot overwrite Processing Engine Trigger %s in Database %s", def->name,
                          db->name);
    for (uint32_t i = 0; i < def->nargs; i++)
        if (!def->args[i].key || !def->args[i].key[0])
            return vg_err_set(e, VG_EINVAL, "trigger argument names cannot be empty");
    struct cat_triggers *ts = triggers_of(c);
    slice *kv = vg_malloc((2 * (size_t)def->nargs + 1) * sizeof *kv);
    if (!ts || !kv) {
        vg_free(kv);
        return vg_err_set(e, VG_ENOMEM, "out of memory creating a trigger");
    }
    slice *keys = kv, *vals = kv + def->nargs;
    for (uint32_t i = 0; i < def->nargs; i++) {
        keys[i] = sl_c(def->args[i].key);
        vals[i] = sl_c(def->args[i].value);
    }
    create_op op = {
        .id = ts->n,
        .db_id = db->id,
        .flags =
            (uint8_t)((def->run_async ? FLAG_RUN_ASYNC : 0) | (def->disabled ? FLAG_DISABLED : 0)),
        .eb = (uint8_t)def->error_behavior,
        .name = sl_c(def->name),
        .plugin = sl_c(def->plugin),
        .spec = sl_c(def->spec),
        .nargs = def->nargs,
        .keys = keys,
        .vals = vals,
    };
    catalog_trigger *t = NULL;
    rc = cat_queue_reserve(c, create_size(&op), e);
    if (rc == VG_OK && apply_create(c, &op, &t) != VG_OK)
        rc = vg_err_set(e, VG_ENOMEM, "out of memory creating trigger '%s'", def->name);
    if (rc == VG_OK)
        queue_create(c, &op);
    vg_free(kv);
    if (rc == VG_OK && out)
        *out = t;
    return rc;
}

int catalog_trigger_set_disabled(catalog *c, catalog_trigger *t, bool disabled, vg_err *e)
{
    if (t->deleted)
        return vg_err_set(e, VG_ENOTFOUND, "trigger '%s' has been deleted", t->name);
    int rc = cat_queue_reserve(c, 1 + 4 + 1, e);
    if (rc != VG_OK)
        return rc;
    t->disabled = disabled;
    put_u8(&c->pending, OP_TRIGGER_SET_DISABLED);
    put_u32(&c->pending, t->id);
    put_u8(&c->pending, disabled ? 1 : 0);
    c->npending++;
    return VG_OK;
}

int catalog_trigger_delete(catalog *c, catalog_trigger *t, vg_err *e)
{
    if (t->deleted)
        return vg_err_set(e, VG_ENOTFOUND, "trigger '%s' has been deleted", t->name);
    int rc = cat_queue_reserve(c, 1 + 4, e);
    if (rc != VG_OK)
        return rc;
    t->deleted = true;
    queue_delete(c, t->id);
    return VG_OK;
}

/* ---- replay ---- */

typedef struct rd {
    const uint8_t *p;
    size_t n;
    size_t used;
    bool bad;
} rd;

static const uint8_t *take(rd *r, size_t k)
{
    if (r->bad || r->n - r->used < k) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->used;
    r->used += k;
    return p;
}

static uint8_t get_u8(rd *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

static uint32_t get_u32(rd *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}

static slice get_str(rd *r)
{
    uint32_t len = get_u32(r);
    const uint8_t *p = take(r, len);
    return (slice){p ? (const char *)p : "", p ? len : 0};
}

static catalog_trigger *known(catalog *c, uint32_t id)
{
    struct cat_triggers *ts = c->triggers;
    return ts && id < ts->n && !ts->all[id]->deleted ? ts->all[id] : NULL;
}

static int replay_create(catalog *c, rd *r, char *why, size_t why_len)
{
    create_op op = {0};
    op.id = get_u32(r);
    op.db_id = get_u32(r);
    op.flags = get_u8(r);
    op.eb = get_u8(r);
    op.name = get_str(r);
    op.plugin = get_str(r);
    op.spec = get_str(r);
    op.nargs = get_u32(r);
    /* Each argument takes at least 8 bytes: a count beyond what is left is garbage. */
    if (r->bad || op.nargs > (r->n - r->used) / 8) {
        snprintf(why, why_len, "truncated trigger change");
        return VG_ECORRUPT;
    }
    slice *kv = op.nargs ? vg_malloc(2 * (size_t)op.nargs * sizeof *kv) : NULL;
    if (op.nargs && !kv)
        return VG_ENOMEM;
    op.keys = kv;
    op.vals = kv ? kv + op.nargs : NULL;
    for (uint32_t i = 0; i < op.nargs; i++) {
        op.keys[i] = get_str(r);
        op.vals[i] = get_str(r);
    }
    int rc = VG_OK;
    uint32_t expect = c->triggers ? c->triggers->n : 0;
    catalog_db *db = catalog_db_get(c, op.db_id);
    if (r->bad)
        snprintf(why, why_len, "truncated trigger change");
    else if (op.id != expect)
        snprintf(why, why_len, "trigger id %u out of order (expected %u)", op.id, expect);
    else if (!db)
        snprintf(why, why_len, "trigger of unknown database id %u", op.db_id);
    else if (op.name.len == 0 || op.plugin.len == 0 || op.spec.len == 0)
        snprintf(why, why_len, "trigger with an empty name, plugin or specification");
    else if (op.eb > CATALOG_ON_ERROR_DISABLE || (op.flags & ~(FLAG_RUN_ASYNC | FLAG_DISABLED)))
        snprintf(why, why_len, "invalid trigger settings");
    else if (find_live(c->triggers, op.db_id, op.name))
        snprintf(why, why_len, "trigger '%.*s' created twice", (int)op.name.len, op.name.p);
    else
        rc = apply_create(c, &op, NULL);
    if (rc == VG_OK && why[0])
        rc = VG_ECORRUPT;
    vg_free(kv);
    return rc;
}

int cat_trigger_replay(catalog *c, uint8_t kind, const uint8_t *p, size_t n, size_t *used,
                       char *why, size_t why_len)
{
    rd r = {p, n, 0, false};
    why[0] = '\0';
    int rc = VG_OK;
    switch (kind) {
    case OP_TRIGGER_CREATE: rc = replay_create(c, &r, why, why_len); break;
    case OP_TRIGGER_SET_DISABLED:
    case OP_TRIGGER_DELETE: {
        uint32_t id = get_u32(&r);
        uint8_t disabled = kind == OP_TRIGGER_SET_DISABLED ? get_u8(&r) : 0;
        catalog_trigger *t = known(c, id);
        if (r.bad)
            snprintf(why, why_len, "truncated trigger change");
        else if (!t)
            snprintf(why, why_len, "unknown trigger id %u", id);
        else if (disabled > 1)
            snprintf(why, why_len, "invalid trigger state %u", disabled);
        else if (kind == OP_TRIGGER_DELETE)
            t->deleted = true;
        else
            t->disabled = disabled;
        rc = why[0] ? VG_ECORRUPT : VG_OK;
        break;
    }
    default:
        snprintf(why, why_len, "unknown change kind %u (written by a newer Vigil?)", kind);
        rc = VG_ECORRUPT;
    }
    *used = r.used;
    return rc;
}
