/*
 * query/sysext_int.h: system tables registered by other modules (sys_ext.c), as
 * the binder (catalog_tables.c) and the engine object (query.c) see them. Private to
 * module query.
 */
#ifndef VIGIL_QUERY_SYSEXT_INT_H
#define VIGIL_QUERY_SYSEXT_INT_H

#include "exec_int.h"

typedef struct qsys_ext_table {
    char *name;
    const query_sys_column *cols;
    uint32_t ncols;
    query_sys_fill_fn fill;
    void *ctx;
    qfield *fields; /* the schema, built at registration */
} qsys_ext_table;

typedef struct qsys_ext {
    qsys_ext_table t[QUERY_SYS_EXT_MAX];
    uint32_t n;
} qsys_ext;

/* query.c: the engine's registry slot (created on first registration). */
qsys_ext **qengine_sys_ext(query_engine *q);
void qsys_ext_free(qsys_ext *x);

/* The registered table `name` of the query's engine, or NULL. */
const qsys_ext_table *qsys_ext_find(qctx *c, const char *name);
/* Every registered table; *n receives the count. */
const qsys_ext_table *qsys_ext_all(qctx *c, uint32_t *n);
/* Runs the table's fill function and returns a values operator over its rows, or
 * NULL with c->err set. */
qop *qsys_ext_op(qctx *c, const qsys_ext_table *t);

#endif /* VIGIL_QUERY_SYSEXT_INT_H */
