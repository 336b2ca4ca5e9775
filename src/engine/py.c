/* engine/py.c: the embedded CPython interpreter, the only file of Vigil that includes
 * Python.h.
 *
 * Owns: initialising the interpreter once (from the main thread) and finalising it;
 * module _vigil_c, the C half of the plugin API (log, write, write_sync, query, and
 * an interruptible sleep); running bootstrap.py (the Python half) as module _vigil;
 * converting write batches and query results into Python values and a request's
 * return value into an HTTP response; the GIL discipline of worker threads; raising
 * the timeout or cancellation exception into a running plugin.
 *
 * GIL rules: a worker holds the GIL only inside eng_py_run (and drop_cache); every
 * query and write a plugin makes runs with the GIL released, so other plugins run
 * meanwhile. The watchdog takes the GIL only to raise into a cancelled call. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "engine_int.h"

#include <stdio.h>
#include <string.h>

#ifndef VIGIL_PYTHON_HOME
#define VIGIL_PYTHON_HOME "/usr"
#endif

/* bootstrap.py, assembled into the binary (make runs the compiler at the repository
 * root, and the Makefile makes py.o depend on it). */
__asm__(".section .rodata\n"
        ".global eng_bootstrap_src\n"
        ".type eng_bootstrap_src, @object\n"
        "eng_bootstrap_src:\n"
        ".incbin \"src/engine/bootstrap.py\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char eng_bootstrap_src[];

typedef struct py_state {
    PyThreadState *main_ts;
    PyObject *mod; /* _vigil */
    PyObject *fn_load, *fn_api, *fn_response, *fn_format_exc, *fn_call_time, *fn_drop_ns;
    PyObject *cls_query_error, *cls_timeout;
    PyObject *k_table_name, *k_rows, *k_time, *k_value;
} py_state;

static py_state *S; /* one interpreter per process */

static _Thread_local PyThreadState *tls_ts;
static _Thread_local PyGILState_STATE tls_gil;

/* ---- helpers ---- */

static PyObject *str_from(const char *p, size_t n)
{
    /* Tag values and strings come from line protocol: decode leniently. */
    return PyUnicode_DecodeUTF8(p ? p : "", (Py_ssize_t)n, "replace");
}

static const char *cancel_text(eng_call *c)
{
    return c->cancel_why ? c->cancel_why : "the call was cancelled";
}

/* Raises the right exception for a cancelled call; returns NULL for convenience. */
static PyObject *raise_cancelled(eng_call *c)
{
    if (c->cancel_why && !strcmp(c->cancel_why, "timeout")) {
        char msg[96]; /* PyErr_Format knows no %g */
        snprintf(msg, sizeof msg, "plugin timed out after %.3g s (--plugin-timeout)",
                 (double)c->g->timeout_ns / 1e9);
        PyErr_SetString(S->cls_timeout, msg);
    } else
        PyErr_Format(PyExc_KeyboardInterrupt, "%s; aborting plugin execution", cancel_text(c));
    return NULL;
}

/* The call a handle belongs to, if it is the one running on this thread. */
static eng_call *call_of(PyObject *handle)
{
    unsigned long long id = PyLong_AsUnsignedLongLong(handle);
    if (id == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    eng_call *c = eng_current_call();
    if (!c || c->id != id) {
        PyErr_SetString(PyExc_RuntimeError,
                        "influxdb3_local can only be used during the plugin call it was given "
                        "to, on the thread that runs it");
        return NULL;
    }
    if (atomic_load(&c->cancelled))
        return raise_cancelled(c), NULL;
    return c;
}

static const char *db_or_default(eng_call *c, PyObject *db)
{
    if (db == Py_None)
        return c->trig->db_name;
    const char *s = PyUnicode_AsUTF8(db);
    return s;
}

/* ---- _vigil_c ---- */

static PyObject *c_log(PyObject *self, PyObject *args)
{
    PyObject *h;
    int level;
    const char *text;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "Ois#", &h, &level, &text, &len))
        return NULL;
    eng_call *c = call_of(h);
    if (!c)
        return NULL;
    eng_level lv = level == 2 ? ENG_ERROR : level == 1 ? ENG_WARN : ENG_INFO;
    PyThreadState *ts = PyEval_SaveThread(); /* the log lock, without the GIL */
    eng_call_log(c, lv, text, (size_t)len);
    PyEval_RestoreThread(ts);
    Py_RETURN_NONE;
}

static eng_write_buf *write_buf(eng_call *c, const char *db)
{
    for (size_t i = 0; i < c->nwrites; i++)
        if (!strcmp(c->writes[i].db, db))
            return &c->writes[i];
    eng_write_buf *nw = vg_realloc(c->writes, (c->nwrites + 1) * sizeof *nw);
    if (!nw)
        return NULL;
    c->writes = nw;
    eng_write_buf *w = &nw[c->nwrites];
    memset(w, 0, sizeof *w);
    w->db = vg_strdup(db);
    if (!w->db)
        return NULL;
    vg_buf_init(&w->lines);
    c->nwrites++;
    return w;
}

static int check_db(const char *db)
{
    if (!strcmp(db, "_internal")) {
        PyErr_SetString(PyExc_Exception, "Python plugins cannot write to the _internal database");
        return -1;
    }
    return 0;
}

/* Buffers a line for the end of the call. */
static PyObject *buffer_line(eng_call *c, const char *db, const char *line, Py_ssize_t len)
{
    if (c->write_bytes + (size_t)len + 1 > ENG_CALL_WRITE_BYTES) {
        PyErr_Format(PyExc_Exception,
                     "a plugin call may buffer at most %zu MiB of writes; write in smaller "
                     "batches (write_sync) or return sooner",
                     ENG_CALL_WRITE_BYTES >> 20);
        return NULL;
    }
    eng_write_buf *w = write_buf(c, db);
    if (!w)
        return PyErr_NoMemory();
    if (w->lines.len)
        vg_buf_putc(&w->lines, '\n');
    vg_buf_append(&w->lines, line, (size_t)len);
    if (w->lines.oom)
        return PyErr_NoMemory();
    w->nlines++;
    c->write_bytes += (size_t)len + 1;
    Py_RETURN_NONE;
}

static PyObject *c_write(PyObject *self, PyObject *args)
{
    PyObject *h, *dbo;
    const char *line;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "OOs#", &h, &dbo, &line, &len))
        return NULL;
    eng_call *c = call_of(h);
    const char *db = c ? db_or_default(c, dbo) : NULL;
    if (!db || check_db(db))
        return NULL;
    return buffer_line(c, db, line, len);
}

static PyObject *c_write_sync(PyObject *self, PyObject *args)
{
    PyObject *h, *dbo;
    const char *line;
    Py_ssize_t len;
    int no_sync;
    if (!PyArg_ParseTuple(args, "OOs#p", &h, &dbo, &line, &len, &no_sync))
        return NULL;
    eng_call *c = call_of(h);
    const char *db = c ? db_or_default(c, dbo) : NULL;
    if (!db || check_db(db))
        return NULL;
    if (c->dry_run) /* a dry run writes nothing: it reports what would be written */
        return buffer_line(c, db, line, len);
    char *dbc = vg_strdup(db);
    if (!dbc)
        return PyErr_NoMemory();
    int rc;
    vg_err e;
    ingest_result res;
    vg_arena a;
    vg_arena_init(&a, 16 * 1024);
    ingest_request req = {.api = INGEST_API_V3,
                          .db = dbc,
                          .db_len = strlen(dbc),
                          .body = line,
                          .body_len = (size_t)len,
                          .precision = "ns",
                          .accept_partial = false,
                          .no_sync = no_sync != 0};
    PyThreadState *ts = PyEval_SaveThread(); /* other plugins run while we write */
    rc = ingest_write(c->g->cfg.ingest, &req, &a, &res, &e);
    PyEval_RestoreThread(ts);
    PyObject *ret = Py_None;
    if (rc != VG_OK) {
        PyErr_Format(PyExc_Exception, "error writing line protocol to %s: %s", dbc, e.msg);
        ret = NULL;
    } else if (res.nerrors) {
        PyErr_Format(PyExc_Exception, "error writing line protocol to %s: line %u: %s", dbc,
                     res.errors[0].line_no, res.errors[0].msg);
        ret = NULL;
    }
    vg_arena_free(&a);
    vg_free(dbc);
    if (ret)
        Py_INCREF(ret);
    return ret;
}

/* ---- query results ---- */

typedef struct rd {
    const char *p;
    size_t n;
    bool bad;
} rd;

static const char *take(rd *r, size_t k)
{
    if (r->bad || r->n < k) {
        r->bad = true;
        return NULL;
    }
    const char *p = r->p;
    r->p += k;
    r->n -= k;
    return p;
}

static uint8_t get_u8(rd *r)
{
    const char *p = take(r, 1);
    return p ? (uint8_t)p[0] : 0;
}

static uint32_t get_u32(rd *r)
{
    uint32_t v = 0;
    const char *p = take(r, 4);
    if (p)
        memcpy(&v, p, 4);
    return v;
}

static uint64_t get_u64(rd *r)
{
    uint64_t v = 0;
    const char *p = take(r, 8);
    if (p)
        memcpy(&v, p, 8);
    return v;
}

/* One cell of the given type as a new reference (None for NULL). */
static PyObject *cell(rd *r, uint8_t type)
{
    if (!get_u8(r))
        Py_RETURN_NONE;
    switch ((query_rows_type)type) {
    case QUERY_ROWS_BOOL: return PyBool_FromLong(get_u8(r));
    case QUERY_ROWS_INT:
    case QUERY_ROWS_TIMESTAMP: /* Core: timestamps reach plugins as ns integers */
    case QUERY_ROWS_INTERVAL: return PyLong_FromLongLong((long long)(int64_t)get_u64(r));
    case QUERY_ROWS_UINT: return PyLong_FromUnsignedLongLong(get_u64(r));
    case QUERY_ROWS_FLOAT: {
        uint64_t bits = get_u64(r);
        double d;
        memcpy(&d, &bits, 8);
        return PyFloat_FromDouble(d);
    }
    case QUERY_ROWS_STRING: {
        uint32_t n = get_u32(r);
        const char *p = take(r, n);
        return p ? str_from(p, n) : NULL;
    }
    case QUERY_ROWS_SELECTOR: {
        uint8_t vt = get_u8(r);
        PyObject *v = cell(r, vt);
        PyObject *t = v ? PyLong_FromLongLong((long long)(int64_t)get_u64(r)) : NULL;
        PyObject *d = t ? PyDict_New() : NULL;
        if (d && (PyDict_SetItem(d, S->k_time, t) || PyDict_SetItem(d, S->k_value, v)))
            Py_CLEAR(d);
        Py_XDECREF(v);
        Py_XDECREF(t);
        return d;
    }
    case QUERY_ROWS_NULL: break;
    }
    Py_RETURN_NONE;
}

static PyObject *decode_rows(const char *data, size_t len)
{
    rd r = {data, len, false};
    uint32_t ncols = get_u32(&r);
    if (r.bad || ncols > len)
        return PyErr_Format(PyExc_ValueError, "malformed query result"), NULL;
    PyObject **names = PyMem_Calloc(ncols + 1, sizeof *names);
    uint8_t *types = PyMem_Calloc(ncols + 1, 1);
    PyObject *list = names && types ? PyList_New(0) : NULL;
    for (uint32_t i = 0; list && i < ncols; i++) {
        types[i] = get_u8(&r);
        uint32_t n = get_u32(&r);
        const char *p = take(&r, n);
        if (!p || !(names[i] = str_from(p, n)))
            Py_CLEAR(list);
    }
    while (list && r.n > 0 && !r.bad) {
        PyObject *row = PyDict_New();
        for (uint32_t i = 0; row && i < ncols; i++) {
            PyObject *v = cell(&r, types[i]);
            if (!v || PyDict_SetItem(row, names[i], v))
                Py_CLEAR(row);
            Py_XDECREF(v);
        }
        if (!row || PyList_Append(list, row))
            Py_CLEAR(list);
        Py_XDECREF(row);
    }
    if (list && r.bad) {
        Py_CLEAR(list);
        PyErr_SetString(PyExc_ValueError, "malformed query result");
    }
    for (uint32_t i = 0; names && i < ncols; i++)
        Py_XDECREF(names[i]);
    PyMem_Free(names);
    PyMem_Free(types);
    if (!list && !PyErr_Occurred())
        PyErr_NoMemory();
    return list;
}

static int collect(void *ctx, const char *data, size_t len)
{
    vg_buf *b = ctx;
    vg_buf_append(b, data, len);
    return b->oom ? -1 : 0;
}

static PyObject *c_query(PyObject *self, PyObject *args)
{
    PyObject *h, *params, *dbo;
    const char *sql;
    Py_ssize_t sql_len;
    if (!PyArg_ParseTuple(args, "Os#OO", &h, &sql, &sql_len, &params, &dbo))
        return NULL;
    eng_call *c = call_of(h);
    const char *db = c ? db_or_default(c, dbo) : NULL;
    if (!db)
        return NULL;
    /* $name parameters: the values are strings, passed as JSON string literals. */
    Py_ssize_t np = params == Py_None ? 0 : PyDict_Size(params);
    if (np < 0)
        return NULL;
    query_param *qp = vg_calloc((size_t)np + 1, sizeof *qp);
    vg_buf *vals = vg_calloc((size_t)np + 1, sizeof *vals);
    char *dbc = vg_strdup(db);
    char *sqlc = vg_strndup(sql, (size_t)sql_len);
    PyObject *ret = NULL;
    Py_ssize_t pos = 0, i = 0;
    PyObject *k, *v;
    bool ok = qp && vals && dbc && sqlc;
    while (ok && np && PyDict_Next(params, &pos, &k, &v)) {
        const char *ks = PyUnicode_AsUTF8(k);
        Py_ssize_t vl;
        const char *vs = PyUnicode_AsUTF8AndSize(v, &vl);
        if (!ks || !vs) {
            ok = false;
            break;
        }
        vg_buf_init(&vals[i]);
        vg_json_str(&vals[i], vs, (size_t)vl);
        qp[i] = (query_param){ks, vals[i].data ? vals[i].data : "\"\""};
        i++;
    }
    if (ok) {
        vg_buf out;
        vg_buf_init(&out);
        vg_err e;
        query_outcome oc;
        int rc;
        query_request req = {.db = dbc,
                             .sql = sqlc,
                             .sql_len = (size_t)sql_len,
                             .params = qp,
                             .nparams = (size_t)i,
                             .format = QUERY_FORMAT_ROWS};
        PyThreadState *ts = PyEval_SaveThread(); /* other plugins run while we query */
        rc = query_run(c->g->cfg.query, &req, collect, &out, &oc, &e);
        PyEval_RestoreThread(ts);
        if (rc != VG_OK)
            PyErr_Format(S->cls_query_error, "%s (database: %s)", e.msg, dbc);
        else if (out.oom)
            PyErr_NoMemory();
        else
            ret = decode_rows(out.data ? out.data : "", out.len);
        vg_buf_free(&out);
    } else if (!PyErr_Occurred()) {
        PyErr_NoMemory();
    }
    for (Py_ssize_t j = 0; vals && j < i; j++)
        vg_buf_free(&vals[j]);
    vg_free(vals);
    vg_free(qp);
    vg_free(dbc);
    vg_free(sqlc);
    return ret;
}

/* time.sleep for plugins: sleeps in short slices without the GIL and gives up as soon
 * as the call is cancelled, so a sleeping plugin still meets its timeout. */
static PyObject *c_sleep(PyObject *self, PyObject *arg)
{
    double secs = PyFloat_AsDouble(arg);
    if (secs == -1.0 && PyErr_Occurred())
        return NULL;
    if (!(secs >= 0))
        return PyErr_Format(PyExc_ValueError, "sleep length must be non-negative"), NULL;
    if (secs > 1e9)
        secs = 1e9;
    int64_t end = vg_mono_ns() + (int64_t)(secs * 1e9);
    eng_call *c = eng_current_call();
    for (;;) {
        if (c && atomic_load(&c->cancelled))
            return raise_cancelled(c);
        int64_t left = end - vg_mono_ns();
        if (left <= 0)
            break;
        if (left > 20 * VG_NS_PER_MS)
            left = 20 * VG_NS_PER_MS;
        PyThreadState *ts = PyEval_SaveThread();
        vg_sleep_ns(left);
        PyEval_RestoreThread(ts);
        if (PyErr_CheckSignals())
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef c_methods[] = {
    {"log", c_log, METH_VARARGS, "log(handle, level, text)"},
    {"write", c_write, METH_VARARGS, "write(handle, db or None, line)"},
    {"write_sync", c_write_sync, METH_VARARGS, "write_sync(handle, db or None, line, no_sync)"},
    {"query", c_query, METH_VARARGS, "query(handle, sql, params or None, db or None)"},
    {"sleep", c_sleep, METH_O, "sleep(seconds): time.sleep that a plugin timeout interrupts"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef c_module = {PyModuleDef_HEAD_INIT,
                                      "_vigil_c",
                                      "Vigil's plugin API, C half",
                                      -1,
                                      c_methods,
                                      NULL,
                                      NULL,
                                      NULL,
                                      NULL};

static PyObject *init_vigil_c(void)
{
    return PyModule_Create(&c_module);
}

/* ---- start and stop ---- */

/* The current exception as text (traceback included); clears it. */
static void exc_text(vg_buf *out)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb && v)
        PyException_SetTraceback(v, tb);
    PyObject *s = NULL;
    if (S && S->fn_format_exc && t)
        s = PyObject_CallFunctionObjArgs(S->fn_format_exc, t, v ? v : Py_None, tb ? tb : Py_None,
                                         NULL);
    if (!s) {
        PyErr_Clear();
        s = v ? PyObject_Str(v) : NULL;
    }
    Py_ssize_t n = 0;
    const char *p = s ? PyUnicode_AsUTF8AndSize(s, &n) : NULL;
    if (p)
        vg_buf_append(out, p, (size_t)n);
    else
        vg_buf_puts(out, "unknown Python error");
    PyErr_Clear();
    Py_XDECREF(s);
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
}

static PyObject *attr(PyObject *mod, const char *name)
{
    return PyObject_GetAttrString(mod, name);
}

int eng_py_init(engine *g, vg_err *e)
{
    if (S)
        return vg_err_set(e, VG_EINVAL, "the Python interpreter is already running");
    S = vg_calloc(1, sizeof *S);
    if (!S)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    if (PyImport_AppendInittab("_vigil_c", init_vigil_c) != 0)
        return vg_err_set(e, VG_EINTERNAL, "cannot register module _vigil_c");
    PyPreConfig pre;
    PyPreConfig_InitPythonConfig(&pre);
#if defined(__SANITIZE_ADDRESS__)
    /* Under AddressSanitizer every Python allocation goes through malloc, so ASan sees
     * them (pymalloc's arenas would hide overflows and confuse leak checking). */
    pre.allocator = PYMEM_ALLOCATOR_MALLOC;
#endif
    PyStatus st = Py_PreInitialize(&pre);
    if (PyStatus_Exception(st))
        return vg_err_set(e, VG_EINTERNAL, "cannot start Python: %s",
                          st.err_msg ? st.err_msg : "?");
    PyConfig cfg;
    PyConfig_InitPythonConfig(&cfg);
    cfg.install_signal_handlers = 0; /* the server owns SIGINT/SIGTERM */
    cfg.parse_argv = 0;
    cfg.write_bytecode = 0; /* no __pycache__ in the plugin directory */
    cfg.buffered_stdio = 0;
    /* Found from the build, not from PATH: a python3 earlier in PATH (pyenv, a venv)
     * must not lend us its standard library. PYTHONHOME still wins when set. */
    bool home = VIGIL_PYTHON_HOME[0] != '\0'; /* empty: the build did not know it */
    if (home && !getenv("PYTHONHOME"))
        st = PyConfig_SetBytesString(&cfg, &cfg.home, VIGIL_PYTHON_HOME);
    if (home && !PyStatus_Exception(st))
        st = PyConfig_SetBytesString(&cfg, &cfg.program_name, VIGIL_PYTHON_HOME "/bin/python3");
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&cfg);
    PyConfig_Clear(&cfg);
    if (PyStatus_Exception(st))
        return vg_err_set(e, VG_EINTERNAL, "cannot start Python: %s",
                          st.err_msg ? st.err_msg : "?");
    int rc = VG_OK;
    PyObject *mod = PyImport_AddModule("_vigil"); /* borrowed */
    PyObject *dict = mod ? PyModule_GetDict(mod) : NULL;
    PyObject *code = NULL, *res = NULL;
    if (dict && PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) == 0)
        code = Py_CompileString(eng_bootstrap_src, "<vigil bootstrap>", Py_file_input);
    if (code)
        res = PyEval_EvalCode(code, dict, dict);
    if (!res) {
        vg_buf b;
        vg_buf_init(&b);
        exc_text(&b);
        rc = vg_err_set(e, VG_EINTERNAL, "cannot set up the plugin API: %.400s",
                        b.data ? b.data : "?");
        vg_buf_free(&b);
    }
    Py_XDECREF(code);
    Py_XDECREF(res);
    if (rc == VG_OK) {
        Py_INCREF(mod);
        S->mod = mod;
        S->fn_load = attr(mod, "_load");
        S->fn_api = attr(mod, "_api");
        S->fn_response = attr(mod, "_response");
        S->fn_format_exc = attr(mod, "_format_exc");
        S->fn_call_time = attr(mod, "_call_time");
        S->fn_drop_ns = attr(mod, "_drop_ns");
        S->cls_query_error = attr(mod, "QueryError");
        S->cls_timeout = attr(mod, "PluginTimeout");
        S->k_table_name = PyUnicode_InternFromString("table_name");
        S->k_rows = PyUnicode_InternFromString("rows");
        S->k_time = PyUnicode_InternFromString("time");
        S->k_value = PyUnicode_InternFromString("value");
        if (!S->fn_load || !S->fn_api || !S->fn_response || !S->fn_format_exc || !S->fn_call_time ||
            !S->fn_drop_ns || !S->cls_query_error || !S->cls_timeout || !S->k_table_name ||
            !S->k_rows || !S->k_time || !S->k_value) {
            PyErr_Clear();
            rc = vg_err_set(e, VG_EINTERNAL, "the plugin API is incomplete");
        }
    }
    VG_INFO(ENG_MOD, "embedded Python %s", Py_GetVersion());
    S->main_ts = PyEval_SaveThread(); /* workers take the GIL from here on */
    g->py = S;
    return rc;
}

void eng_py_shutdown(engine *g, bool finalize)
{
    if (!S || !finalize)
        return;
    if (!S->main_ts) { /* the interpreter never started */
        vg_free(S);
        S = NULL;
        return;
    }
    PyEval_RestoreThread(S->main_ts);
    PyObject **refs[] = {&S->mod,           &S->fn_load,      &S->fn_api,     &S->fn_response,
                         &S->fn_format_exc, &S->fn_call_time, &S->fn_drop_ns, &S->cls_query_error,
                         &S->cls_timeout,   &S->k_table_name, &S->k_rows,     &S->k_time,
                         &S->k_value};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        Py_CLEAR(*refs[i]);
    if (Py_FinalizeEx() != 0)
        VG_WARN(ENG_MOD, "the Python interpreter reported errors while finalising");
    vg_free(S);
    S = NULL;
    g->py = NULL;
}

void *eng_py_thread_enter(engine *g)
{
    tls_gil = PyGILState_Ensure();
    tls_ts = PyEval_SaveThread();
    return tls_ts;
}

void eng_py_thread_leave(engine *g, void *state)
{
    PyEval_RestoreThread(tls_ts);
    PyGILState_Release(tls_gil);
    tls_ts = NULL;
}

/* ---- one call ---- */

/* Tag values repeat (a few hundred series in thousands of rows): one str object per
 * distinct value of a column, found by a small direct-mapped cache, saves an
 * allocation, a UTF-8 decode and a free per tag per row. */
#define TAG_CACHE_SLOTS 256

typedef struct tag_slot {
    const char *p;
    uint32_t len;
    PyObject *o;
} tag_slot;

static PyObject *tag_value(tag_slot **cache, uint32_t col, const char *p, uint32_t len)
{
    if (!cache[col] && !(cache[col] = PyMem_Calloc(TAG_CACHE_SLOTS, sizeof **cache)))
        return str_from(p, len);
    tag_slot *sl = &cache[col][vg_hash(p, len) & (TAG_CACHE_SLOTS - 1)];
    if (sl->o && sl->len == len && memcmp(sl->p, p, len) == 0)
        return Py_NewRef(sl->o);
    PyObject *o = str_from(p, len);
    if (o) {
        Py_XDECREF(sl->o);
        *sl = (tag_slot){p, len, Py_NewRef(o)};
    }
    return o;
}

static void tag_cache_free(tag_slot **cache, uint32_t ncols)
{
    for (uint32_t c = 0; cache && c < ncols; c++) {
        for (uint32_t i = 0; cache[c] && i < TAG_CACHE_SLOTS; i++)
            Py_XDECREF(cache[c][i].o);
        PyMem_Free(cache[c]);
    }
    PyMem_Free(cache);
}

/* The rows of one table of one batch, as a new list; NULL on failure. */
static PyObject *table_rows(const eng_table_rows *tr)
{
    PyObject **keys = PyMem_Calloc(tr->ncols + 1, sizeof *keys);
    tag_slot **tags = PyMem_Calloc(tr->ncols + 1, sizeof *tags);
    PyObject *rows = keys && tags ? PyList_New(tr->nrows) : NULL;
    for (uint32_t ri = 0; rows && ri < tr->nrows; ri++) {
        const eng_row *r = &tr->rows[ri];
        /* Sized for every key at once: no resize while the row fills in. */
        PyObject *d = _PyDict_NewPresized(r->nvals + 1);
        for (uint32_t k = 0; d && k < r->nvals; k++) {
            const eng_val *v = &r->vals[k];
            if (v->col >= tr->ncols || !tr->col_names[v->col])
                continue;
            if (!keys[v->col] && !(keys[v->col] = PyUnicode_FromString(tr->col_names[v->col]))) {
                Py_CLEAR(d);
                break;
            }
            PyObject *pv = NULL;
            switch (v->type) {
            case CATALOG_TAG: pv = tag_value(tags, v->col, v->v.s.p, v->v.s.len); break;
            case CATALOG_STRING: pv = str_from(v->v.s.p, v->v.s.len); break;
            case CATALOG_FLOAT: pv = PyFloat_FromDouble(v->v.f); break;
            case CATALOG_INT:
            case CATALOG_TIME: pv = PyLong_FromLongLong(v->v.i); break;
            case CATALOG_UINT: pv = PyLong_FromUnsignedLongLong(v->v.u); break;
            case CATALOG_BOOL: pv = PyBool_FromLong(v->v.b); break;
            }
            if (!pv || PyDict_SetItem(d, keys[v->col], pv))
                Py_CLEAR(d);
            Py_XDECREF(pv);
        }
        PyObject *t = d ? PyLong_FromLongLong(r->time) : NULL;
        if (d && (!t || PyDict_SetItem(d, S->k_time, t)))
            Py_CLEAR(d);
        Py_XDECREF(t);
        if (!d)
            Py_CLEAR(rows); /* slots not filled yet are NULL: the list frees fine */
        else
            PyList_SET_ITEM(rows, ri, d);
    }
    for (uint32_t k = 0; keys && k < tr->ncols; k++)
        Py_XDECREF(keys[k]);
    PyMem_Free(keys);
    tag_cache_free(tags, tr->ncols);
    return rows;
}

/* table_batches: [{"table_name": str, "rows": [ {col: value, ..., "time": ns} ]}], one
 * entry per table, rows of every merged write in write order. */
static PyObject *build_batches(eng_call *c)
{
    const engine_spec *spec = &c->trig->spec;
    PyObject *list = PyList_New(0);
    PyObject *by_name = PyDict_New(); /* table name -> its rows list */
    for (const eng_job *j = c->job; list && by_name && j; j = j->merged) {
        const eng_batch *b = j->batch;
        for (uint32_t ti = 0; list && b && ti < b->ntables; ti++) {
            const eng_table_rows *tr = &b->tables[ti];
            if (tr->nrows == 0 || (spec->kind == ENGINE_SPEC_TABLE && strcmp(spec->arg, tr->name)))
                continue;
            PyObject *part = table_rows(tr);
            PyObject *name = part ? PyUnicode_FromString(tr->name) : NULL;
            PyObject *rows = name ? PyDict_GetItemWithError(by_name, name) : NULL; /* borrowed */
            if (rows) {
                /* The same table in a later write of this call: one list per table. */
                Py_ssize_t n = PyList_GET_SIZE(rows);
                if (PyList_SetSlice(rows, n, n, part) < 0)
                    Py_CLEAR(list);
            } else if (name && !PyErr_Occurred()) {
                PyObject *td = PyDict_New();
                if (!td || PyDict_SetItem(td, S->k_table_name, name) ||
                    PyDict_SetItem(td, S->k_rows, part) || PyList_Append(list, td) ||
                    PyDict_SetItem(by_name, name, part))
                    Py_CLEAR(list);
                Py_XDECREF(td);
            } else {
                Py_CLEAR(list);
            }
            Py_XDECREF(name);
            Py_XDECREF(part);
        }
    }
    Py_XDECREF(by_name);
    return list;
}

static PyObject *kv_dict(const engine_kv *kv, size_t n, bool skip_auth)
{
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < n; i++) {
        if (skip_auth && !strcmp(kv[i].key, "authorization"))
            continue;
        PyObject *v = str_from(kv[i].value, strlen(kv[i].value));
        if (!v || PyDict_SetItemString(d, kv[i].key, v))
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *trigger_args(const eng_trigger *t)
{
    if (t->nargs == 0)
        Py_RETURN_NONE;
    PyObject *d = PyDict_New();
    for (uint32_t i = 0; d && i < t->nargs; i++) {
        PyObject *v = str_from(t->arg_vals[i], strlen(t->arg_vals[i]));
        if (!v || PyDict_SetItemString(d, t->arg_keys[i], v))
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

/* A header name or value that would break the response is dropped. */
static bool header_ok(const char *s, bool name)
{
    if (!*s && name)
        return false;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || (name && (*s == ':' || *s == ' ')))
            return false;
    return true;
}

/* Turns _vigil._response's (status, [(k, v)], body) into the call's response. */
static int take_response(eng_call *c, PyObject *r)
{
    PyObject *status, *headers, *body;
    if (!PyArg_ParseTuple(r, "OOO", &status, &headers, &body))
        return -1;
    long st = PyLong_AsLong(status);
    if (st == -1 && PyErr_Occurred())
        return -1;
    c->status = st >= 100 && st <= 999 ? (int)st : 500;
    Py_ssize_t nh = PySequence_Size(headers);
    for (Py_ssize_t i = 0; i < nh; i++) {
        PyObject *item = PySequence_GetItem(headers, i);
        const char *k = NULL, *v = NULL;
        if (item && PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 2) {
            k = PyUnicode_AsUTF8(PyTuple_GET_ITEM(item, 0));
            v = PyUnicode_AsUTF8(PyTuple_GET_ITEM(item, 1));
        }
        Py_XDECREF(item);
        if (!k || !v)
            return -1;
        if (header_ok(k, true) && header_ok(v, false))
            vg_buf_printf(&c->resp_headers, "%s: %s\n", k, v);
    }
    if (PyBytes_Check(body)) {
        vg_buf_append(&c->resp_body, PyBytes_AS_STRING(body), (size_t)PyBytes_GET_SIZE(body));
    } else {
        Py_ssize_t n;
        const char *p = PyUnicode_AsUTF8AndSize(body, &n);
        if (!p)
            return -1;
        vg_buf_append(&c->resp_body, p, (size_t)n);
    }
    return 0;
}

/* Builds the entry point's arguments and calls it; NULL with a Python error set. */
static PyObject *invoke(eng_call *c, PyObject *fn, PyObject *api)
{
    eng_job *j = c->job;
    PyObject *args = trigger_args(c->trig), *res = NULL;
    if (!args)
        return NULL;
    switch (j->kind) {
    case ENG_JOB_WAL:
    case ENG_JOB_TEST_WAL: {
        /* Rows are dicts of atoms: nothing for the cycle collector to find, and
         * building them would otherwise run it every few hundred rows. */
        int gc_was = PyGC_Disable();
        PyObject *batches = build_batches(c);
        if (gc_was)
            PyGC_Enable();
        if (batches)
            res = PyObject_CallFunctionObjArgs(fn, api, batches, args, NULL);
        Py_XDECREF(batches);
        break;
    }
    case ENG_JOB_SCHEDULE:
    case ENG_JOB_TEST_SCHEDULE: {
        PyObject *when = PyObject_CallFunction(S->fn_call_time, "L",
                                               (long long)(j->call_time_ns / VG_NS_PER_SEC));
        if (when)
            res = PyObject_CallFunctionObjArgs(fn, api, when, args, NULL);
        Py_XDECREF(when);
        break;
    }
    case ENG_JOB_REQUEST: {
        const engine_http_request *rq = &j->waiter->req;
        PyObject *q = kv_dict(rq->query, rq->nquery, false);
        PyObject *h = q ? kv_dict(rq->headers, rq->nheaders, true) : NULL;
        PyObject *body = h ? PyBytes_FromStringAndSize(rq->body, (Py_ssize_t)rq->body_len) : NULL;
        PyObject *ret = body ? PyObject_CallFunctionObjArgs(fn, api, q, h, body, args, NULL) : NULL;
        PyObject *r = ret ? PyObject_CallFunctionObjArgs(S->fn_response, ret, NULL) : NULL;
        if (r && take_response(c, r) == 0)
            res = Py_NewRef(Py_None);
        Py_XDECREF(r);
        Py_XDECREF(ret);
        Py_XDECREF(body);
        Py_XDECREF(h);
        Py_XDECREF(q);
        break;
    }
    default: PyErr_SetString(PyExc_RuntimeError, "unknown job"); break;
    }
    Py_DECREF(args);
    return res;
}

static const char *entry_point(eng_job_kind k)
{
    switch (k) {
    case ENG_JOB_WAL:
    case ENG_JOB_TEST_WAL: return "process_writes";
    case ENG_JOB_REQUEST: return "process_request";
    default: return "process_scheduled_call";
    }
}

void eng_py_run(eng_call *c)
{
    engine *g = c->g;
    eng_trigger *t = c->trig;
    char *path = NULL;
    bool is_dir = false;
    vg_err e;
    int prc = eng_plugin_path(g, t->plugin, &path, &is_dir, &e);

    PyEval_RestoreThread(tls_ts);
    c->py_thread = PyThread_get_thread_ident();
    PyThreadState_SetAsyncExc(c->py_thread, NULL); /* nothing left over from before */
    eng_set_current_call(c);
    PyObject *fn = NULL, *api = NULL, *res = NULL;
    if (prc != VG_OK) {
        c->failed = true;
        vg_buf_puts(&c->error, e.msg);
        goto done;
    }
    fn = PyObject_CallFunction(S->fn_load, "sOs", path, is_dir ? Py_True : Py_False,
                               entry_point(c->job->kind));
    if (fn) {
        PyObject *ttl = c->dry_run ? PyFloat_FromDouble(1800.0) : Py_NewRef(Py_None);
        const char *global_ns = c->dry_run ? "test-global" : "global";
        if (ttl)
            api = PyObject_CallFunction(S->fn_api, "KssO", (unsigned long long)c->id, t->cache_ns,
                                        global_ns, ttl);
        Py_XDECREF(ttl);
    }
    if (api)
        res = invoke(c, fn, api);
    /* Finished while the GIL is held: the watchdog raises into calls only with the
     * GIL, so from here on nothing new can be raised into this thread for this call;
     * one raised just before is dropped, or it would fire inside the error handling. */
    atomic_store(&c->finished, true);
    PyThreadState_SetAsyncExc(c->py_thread, NULL);
    if (!res) {
        c->failed = true;
        if (atomic_load(&c->cancelled) && c->cancel_why && !strcmp(c->cancel_why, "timeout"))
            vg_buf_printf(&c->error, "plugin timed out after %.3g s (--plugin-timeout):\n",
                          (double)g->timeout_ns / 1e9);
        else if (atomic_load(&c->cancelled))
            vg_buf_printf(&c->error, "%s:\n", cancel_text(c));
        exc_text(&c->error);
    }
done:
    atomic_store(&c->finished, true);
    Py_XDECREF(res);
    Py_XDECREF(api);
    Py_XDECREF(fn);
    PyErr_Clear();
    eng_set_current_call(NULL);
    tls_ts = PyEval_SaveThread();
    vg_free(path);
}

void eng_py_interrupt(engine *g, bool all)
{
    PyGILState_STATE st = PyGILState_Ensure();
    int64_t now = vg_mono_ns();
    pthread_mutex_lock(&g->call_lock);
    for (eng_call *c = g->active; c; c = c->next_active) {
        if (atomic_load(&c->finished) || !atomic_load(&c->cancelled) || !c->py_thread)
            continue;
        if (!all && now - c->last_kick < ENG_KICK_EVERY_NS)
            continue;
        bool timeout = c->cancel_why && !strcmp(c->cancel_why, "timeout");
        PyThreadState_SetAsyncExc(c->py_thread, timeout ? S->cls_timeout : PyExc_KeyboardInterrupt);
        c->last_kick = now;
    }
    pthread_mutex_unlock(&g->call_lock);
    PyGILState_Release(st);
}

void eng_py_drop_cache(engine *g, const char *ns)
{
    PyEval_RestoreThread(tls_ts);
    PyThreadState_SetAsyncExc(PyThread_get_thread_ident(), NULL);
    PyObject *r = PyObject_CallFunction(S->fn_drop_ns, "s", ns);
    Py_XDECREF(r);
    PyErr_Clear();
    tls_ts = PyEval_SaveThread();
}
