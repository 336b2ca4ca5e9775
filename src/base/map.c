/* base/map.c: open-addressing hash map from byte-string keys to pointers.
 *
 * Linear probing over a power-of-two table; deletions leave tombstones (key set to
 * the static `tomb` marker) that inserts reuse and rehashing clears. */
#include "base.h"

#include <string.h>
#include <xxhash.h>

static char tomb[1];

uint64_t vg_hash(const void *p, size_t n) { return XXH3_64bits(p, n); }

void vg_map_init(vg_map *m)
{
    m->slots = NULL;
    m->cap = m->len = m->tombstones = 0;
}

void vg_map_free(vg_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != tomb)
            vg_free(m->slots[i].key);
    vg_free(m->slots);
    vg_map_init(m);
}

static vg_map_entry *find_slot(const vg_map *m, const char *key, size_t klen, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        vg_map_entry *e = &m->slots[i];
        if (!e->key)
            return NULL;
        if (e->key != tomb && e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
}

void *vg_map_get_h(const vg_map *m, const char *key, size_t klen, uint64_t hash)
{
    if (!m->len)
        return NULL;
    vg_map_entry *e = find_slot(m, key, klen, hash);
    return e ? e->val : NULL;
}

void *vg_map_get(const vg_map *m, const char *key, size_t klen)
{
    if (!m->len)
        return NULL;
    return vg_map_get_h(m, key, klen, vg_hash(key, klen));
}

static int grow(vg_map *m)
{
    size_t ncap = m->cap ? m->cap : 8;
    while ((m->len + 1) * 4 > ncap * 3)
        ncap *= 2;
    if (ncap == m->cap && m->tombstones == 0)
        ncap *= 2;
    vg_map_entry *ns = vg_calloc(ncap, sizeof *ns);
    if (!ns)
        return VG_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        vg_map_entry *e = &m->slots[i];
        if (!e->key || e->key == tomb)
            continue;
        size_t j = e->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    vg_free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->tombstones = 0;
    return VG_OK;
}

int vg_map_put(vg_map *m, const char *key, size_t klen, void *val)
{
    uint64_t h = vg_hash(key, klen);
    if (m->len) {
        vg_map_entry *e = find_slot(m, key, klen, h);
        if (e) {
            e->val = val;
            return VG_OK;
        }
    }
    if ((m->len + m->tombstones + 1) * 4 > m->cap * 3 && grow(m) != VG_OK)
        return VG_ENOMEM;
    char *k = vg_strndup(key, klen);
    if (!k)
        return VG_ENOMEM;
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key && m->slots[i].key != tomb)
        i = (i + 1) & mask;
    if (m->slots[i].key == tomb)
        m->tombstones--;
    m->slots[i] = (vg_map_entry){h, k, klen, val};
    m->len++;
    return VG_OK;
}

void *vg_map_del(vg_map *m, const char *key, size_t klen)
{
    if (!m->len)
        return NULL;
    vg_map_entry *e = find_slot(m, key, klen, vg_hash(key, klen));
    if (!e)
        return NULL;
    void *v = e->val;
    vg_free(e->key);
    e->key = tomb;
    e->val = NULL;
    m->len--;
    m->tombstones++;
    return v;
}

bool vg_map_next(const vg_map *m, size_t *iter, const vg_map_entry **out)
{
    for (; *iter < m->cap; (*iter)++) {
        const vg_map_entry *e = &m->slots[*iter];
        if (e->key && e->key != tomb) {
            *out = e;
            (*iter)++;
            return true;
        }
    }
    return false;
}
