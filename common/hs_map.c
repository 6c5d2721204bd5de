#include "hs_map.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_hash.h"

#include <stdint.h>
#include <string.h>

static size_t hs__map_hash(const char *s, size_t len)
{
    return (size_t)hs_fnv1a64(s, len);
}

void hs_map_init(hs_map *m)
{
    memset(m, 0, sizeof *m);
}

void hs_map_free(hs_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        hs_free(m->slots[i].key);
    hs_free(m->slots);
    hs_map_init(m);
}

static hs_map_entry *hs__map_find(const hs_map *m, const char *key, size_t len, size_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        hs_map_entry *e = &m->slots[i];
        if (e->key == NULL && !e->tomb)
            return NULL;
        if (e->key != NULL && e->hash == h && strncmp(e->key, key, len) == 0 && e->key[len] == '\0')
            return e;
    }
}

void *hs_map_getn(const hs_map *m, const char *key, size_t len)
{
    hs_map_entry *e = hs__map_find(m, key, len, hs__map_hash(key, len));
    return e != NULL ? e->value : NULL;
}

void *hs_map_get(const hs_map *m, const char *key)
{
    return hs_map_getn(m, key, strlen(key));
}

static int hs__map_grow(hs_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    /* Rehash in place of the same size when mostly tombstones. */
    if (m->cap != 0 && m->n * 2 < m->cap)
        cap = m->cap;
    hs_map_entry *slots = hs_calloc(cap, sizeof *slots);
    if (slots == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        hs_map_entry *e = &m->slots[i];
        if (e->key == NULL)
            continue;
        size_t j = e->hash & (cap - 1);
        while (slots[j].key != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = *e;
        slots[j].tomb = false;
    }
    hs_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->n;
    return HS_OK;
}

int hs_map_put(hs_map *m, const char *key, void *value, void **old)
{
    size_t len = strlen(key);
    size_t h = hs__map_hash(key, len);
    hs_map_entry *e = hs__map_find(m, key, len, h);
    if (e != NULL) {
        if (old != NULL)
            *old = e->value;
        e->value = value;
        return HS_OK;
    }
    if (old != NULL)
        *old = NULL;
    if ((m->used + 1) * 4 > m->cap * 3) {
        int rc = hs__map_grow(m);
        if (rc != HS_OK)
            return rc;
    }
    char *k = hs_strndup(key, len);
    if (k == NULL)
        return HS_ERR_NOMEM;
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key != NULL)
        i = (i + 1) & mask;
    if (!m->slots[i].tomb)
        m->used++;
    m->slots[i].key = k;
    m->slots[i].value = value;
    m->slots[i].hash = h;
    m->slots[i].tomb = false;
    m->n++;
    return HS_OK;
}

void *hs_map_remove(hs_map *m, const char *key)
{
    size_t len = strlen(key);
    hs_map_entry *e = hs__map_find(m, key, len, hs__map_hash(key, len));
    if (e == NULL)
        return NULL;
    void *v = e->value;
    hs_free(e->key);
    e->key = NULL;
    e->value = NULL;
    e->tomb = true;
    m->n--;
    return v;
}

hs_map_entry *hs_map_next(const hs_map *m, size_t *pos)
{
    while (*pos < m->cap) {
        hs_map_entry *e = &m->slots[(*pos)++];
        if (e->key != NULL)
            return e;
    }
    return NULL;
}
