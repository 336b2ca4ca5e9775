/*
 * lineproto: the InfluxDB line-protocol parser and builder.
 *
 * The parser is zero-copy: every name and string value is a slice of the input
 * body; a slice whose `escaped` flag is set contains backslash escapes, and
 * lp_unescape() produces its real bytes. Every error carries the line number, the
 * 1-based byte column and a message saying what was expected, with Core's wording
 * where Core has one (see ../shared/compat/influxdb3-api.md section 3).
 *
 * Depends on: base.
 */
#ifndef VIGIL_LINEPROTO_H
#define VIGIL_LINEPROTO_H

#include "base/base.h"

typedef enum lp_type {
    LP_FLOAT = 0,
    LP_INT,
    LP_UINT,
    LP_STRING,
    LP_BOOL,
} lp_type;

/* A slice of the input. `escaped` = it contains backslash escapes. */
typedef struct lp_slice {
    const char *ptr;
    uint32_t len;
    bool escaped;
} lp_slice;

typedef struct lp_tag {
    lp_slice key;
    lp_slice val;
} lp_tag;

typedef struct lp_field {
    lp_slice key;
    lp_type type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        lp_slice s; /* string field, without the quotes; escapes: \" and \\ */
    } v;
} lp_field;

/* One good line. Arrays point into the parse arena. */
typedef struct lp_line {
    uint32_t line_no;  /* 1-based, counting every '\n' of the body */
    const char *text;  /* the whole line as sent (no '\n') */
    uint32_t text_len;
    lp_slice measurement;
    lp_tag *tags;
    uint32_t ntags;
    lp_field *fields;
    uint32_t nfields;
    bool has_time;
    int64_t time; /* as written, before precision scaling */
} lp_line;

/* One bad line. */
typedef struct lp_error {
    uint32_t line_no;
    uint32_t column;  /* 1-based byte column of the offending byte */
    const char *text; /* the whole line as sent */
    uint32_t text_len;
    char msg[256];    /* what was wrong / expected, without position */
} lp_error;

typedef struct lp_batch {
    lp_line *lines; /* good lines, in input order */
    size_t nlines;
    lp_error *errors; /* bad lines, in input order */
    size_t nerrors;
    size_t caps[2]; /* internal */
} lp_batch;

typedef struct lp_options {
    /* Stop at the first bad line (the v1/v2 endpoints reject the whole batch). */
    bool stop_at_first_error;
} lp_options;

/* Parses a whole body. Blank lines and `#` comments are skipped. Lines and errors
 * are allocated in `arena` (owned by the caller, typically per request). Returns
 * VG_OK even when some lines are bad (see out->errors); VG_ENOMEM on allocation
 * failure. */
int lp_parse(const char *body, size_t len, const lp_options *opt, vg_arena *arena, lp_batch *out);

/* Writes the unescaped bytes of s to out (which needs s.len bytes); returns the
 * length. For names and tag values: `\` before `,` `=` ` ` `\` yields that char,
 * a backslash before anything else stays. For string fields: `\"` and `\\`. */
size_t lp_unescape(lp_slice s, char *out);
/* The same for a measurement, whose escapable chars are `,` ` ` `\` only (`\=` stays
 * two bytes there, as in Core). */
size_t lp_unescape_measurement(lp_slice s, char *out);
size_t lp_unescape_string_field(lp_slice s, char *out);

/* Timestamp precision. */
typedef enum lp_precision {
    LP_PREC_AUTO = 0,
    LP_PREC_NS,
    LP_PREC_US,
    LP_PREC_MS,
    LP_PREC_S,
} lp_precision;

/* Parses a precision name. v3 (`write_lp`) accepts auto, s/second, ms/millisecond,
 * us/u/microsecond, ns/n/nanosecond; v1/v2 the same without auto. */
int lp_parse_precision(const char *s, size_t len, bool allow_auto, lp_precision *out, vg_err *e);
/* Core's name for p as its messages print it: "Auto", "Second", "Millisecond",
 * "Microsecond", "Nanosecond". */
const char *lp_precision_name(lp_precision p);

/* Scales a written timestamp to ns. AUTO guesses from magnitude as Core does
 * (|t| < 5e9 seconds, < 5e12 ms, < 5e15 us, else ns). On overflow: VG_EINVAL with
 * Core's message `timestamp, <t>, out of range for precision: <P>`. */
int lp_scale_time(int64_t t, lp_precision p, int64_t *ns, vg_err *e);
/* The server time to use for a line without timestamp: now truncated to the
 * precision (not truncated under AUTO). */
int64_t lp_default_time(int64_t now_ns, lp_precision p);

/* ---- builder: the reverse direction (used by the processing engine) ---- */

typedef struct lp_builder {
    vg_buf *out;
    int state; /* internal: 0 = need measurement, 1 = tags, 2 = fields */
    uint32_t nfields;
    /* internal: tags in the current line, where it starts in out (before its '\n'),
     * whether a line was written, and the first problem found in the line */
    uint32_t ntags;
    size_t line_start;
    bool any_line;
    char err[160];
} lp_builder;

void lp_builder_init(lp_builder *b, vg_buf *out);
/* Starts a line (appending '\n' first if this is not the first line). */
void lp_build_measurement(lp_builder *b, const char *name, size_t len);
void lp_build_tag(lp_builder *b, const char *key, size_t klen, const char *val, size_t vlen);
void lp_build_float(lp_builder *b, const char *key, size_t klen, double v);
void lp_build_int(lp_builder *b, const char *key, size_t klen, int64_t v);
void lp_build_uint(lp_builder *b, const char *key, size_t klen, uint64_t v);
void lp_build_bool(lp_builder *b, const char *key, size_t klen, bool v);
void lp_build_string(lp_builder *b, const char *key, size_t klen, const char *v, size_t vlen);
/* Ends the line, with a timestamp when has_time. VG_EINVAL if it has no field or
 * holds something line protocol cannot carry (NaN or infinite float, empty name or
 * tag value, a newline, a tab in a name, a measurement starting with `#`); the bad
 * line is then removed from out, and the lines before it stay. VG_ENOMEM if out ran
 * out of memory. */
int lp_build_end(lp_builder *b, bool has_time, int64_t time, vg_err *e);

#endif /* VIGIL_LINEPROTO_H */
