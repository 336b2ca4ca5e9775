/*
 * query/func_registry.c: the scalar-function registry (qfunc_find) over the tables the
 * func_*.c files export, and the type rules their resolve functions share.
 */
#include "func_int.h"

#include <stdio.h>
#include <string.h>

typedef struct reg_table {
    const qf_def *defs;
    const size_t *n;
} reg_table;

static const reg_table reg_tables[] = {
    {qf_arith_defs, &qf_arith_ndefs},   {qf_cmp_defs, &qf_cmp_ndefs},
    {qf_string_defs, &qf_string_ndefs}, {qf_time_defs, &qf_time_ndefs},
    {qf_math_defs, &qf_math_ndefs},
};

const qfunc *qfunc_find(const char *name)
{
    /* Called while binding, not per row: a linear scan of ~90 names is fine. */
    for (size_t t = 0; t < sizeof reg_tables / sizeof reg_tables[0]; t++)
        for (size_t i = 0; i < *reg_tables[t].n; i++)
            if (strcmp(reg_tables[t].defs[i].f.name, name) == 0)
                return &reg_tables[t].defs[i].f;
    return NULL;
}

int qf_nomatch(vg_err *e, const char *name, const qtype *t, uint32_t n, const char *cands)
{
    char sig[256];
    size_t k = (size_t)snprintf(sig, sizeof sig, "%s(", name);
    for (uint32_t i = 0; i < n && k < sizeof sig; i++)
        k += (size_t)snprintf(sig + k, sizeof sig - k, "%s%s", i ? ", " : "", qtype_name(t[i]));
    if (k < sizeof sig)
        snprintf(sig + k, sizeof sig - k, ")");
    return vg_err_set(e, VG_EINVAL, "no function matches '%s'. Candidates: %s", sig, cands);
}

bool qf_is_numeric(qtype t)
{
    return t == QT_INT || t == QT_UINT || t == QT_FLOAT;
}

bool qf_common_type(qtype a, qtype b, qtype *out)
{
    if (a == b || b == QT_NULL) {
        *out = a;
        return a != QT_SELECTOR || b == a;
    }
    if (a == QT_NULL) {
        *out = b;
        return true;
    }
    if (qf_is_numeric(a) && qf_is_numeric(b)) {
        *out = (a == QT_FLOAT || b == QT_FLOAT) ? QT_FLOAT : QT_INT;
        return true;
    }
    if (a == QT_STRING || b == QT_STRING) {
        qtype o = a == QT_STRING ? b : a;
        if (o == QT_TIMESTAMP || o == QT_INTERVAL) {
            *out = o;
            return true;
        }
        if (o == QT_SELECTOR)
            return false;
        *out = QT_STRING;
        return true;
    }
    return false;
}
