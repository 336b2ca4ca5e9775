/* base/err.c: result-code names and the error object. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vg_err_set(vg_err *e, vg_code code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int vg_err_errno(vg_err *e, vg_code code, int errnum, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof e->msg)
            snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(errnum));
    }
    return code;
}

void vg_err_clear(vg_err *e)
{
    if (e) {
        e->code = VG_OK;
        e->msg[0] = '\0';
    }
}

const char *vg_code_name(vg_code code)
{
    switch (code) {
    case VG_OK: return "ok";
    case VG_EINVAL: return "invalid input";
    case VG_ENOTFOUND: return "not found";
    case VG_EEXISTS: return "already exists";
    case VG_ELIMIT: return "limit exceeded";
    case VG_ETOOBIG: return "too large";
    case VG_ENOMEM: return "out of memory";
    case VG_EIO: return "I/O error";
    case VG_ECORRUPT: return "corrupt data";
    case VG_EINTERNAL: return "internal error";
    }
    return "unknown error";
}

void vg_never_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "vigil: invariant violated: %s (%s:%d)\n", expr, file, line);
    abort();
}
