/*
 * base: the foundation every other module stands on.
 *
 * Owns: result codes and the error object, the counting allocator (with fault
 * injection), arenas, growable byte buffers and string slices, a string-keyed hash
 * map, time and duration parsing/formatting, a small JSON writer, logging, CRC32C,
 * durable-file helpers, and every hard limit of the system (section "Limits").
 *
 * The whole project shares one namespace prefix for base: `vg_` / `VG_`.
 * base includes only libc and POSIX.
 */
#ifndef VIGIL_BASE_H
#define VIGIL_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Limits: every hard limit, with the reason beside it.                     */
/* ------------------------------------------------------------------------ */

/* Line protocol: InfluxDB 3 Core builds with `large-strings`, capping every escaped
 * element (measurement, tag key/value, field key) and string field value at 1 MiB. */
#define VG_LIMIT_LP_STRING_BYTES (1u << 20)
/* Tags and fields per line: far above any real sensor line, low enough that a
 * hostile line cannot make the per-line scratch arrays huge. */
#define VG_LIMIT_LP_TAGS_PER_LINE 4096
#define VG_LIMIT_LP_FIELDS_PER_LINE 65536
/* Core's database name rule: 255 + "/" + 255. */
#define VG_LIMIT_DB_NAME_BYTES 511
/* Table and column names: same cap as any line-protocol element name. */
#define VG_LIMIT_NAME_BYTES 65536
/* Default HTTP body cap, as Core (`--max-http-request-size`). */
#define VG_DEFAULT_MAX_HTTP_REQUEST_BYTES (10u * 1024u * 1024u)
/* Configurable catalog limits; defaults far above Core's 5 / 2000 / 500, whose caps
 * are a top user complaint. The column count includes `time`. */
#define VG_DEFAULT_MAX_DATABASES 10000
#define VG_DEFAULT_MAX_TABLES 1000000
#define VG_DEFAULT_MAX_COLUMNS_PER_TABLE 10000
/* The catalog log is rewritten as a compact image (a checkpoint) once it is bigger than
 * this and 4x its last image: below it, replaying the whole log at start-up takes a few
 * milliseconds, so a rewrite would buy nothing. */
#define VG_DEFAULT_CATALOG_CHECKPOINT_BYTES (8ull << 20)
/* Original line echoed in partial-write errors: Core truncates it to 20 bytes. */
#define VG_LIMIT_ERROR_ORIGINAL_LINE_BYTES 20
/* Human error messages are formatted into a fixed buffer in the error object. */
#define VG_ERR_MSG_BYTES 512
/* A WAL record bigger than this is refused: it bounds replay memory. */
#define VG_LIMIT_WAL_RECORD_BYTES (1u << 30)
/* A catalog log record bigger than this is corruption, not data. */
#define VG_LIMIT_CATALOG_RECORD_BYTES (64u << 20)
/* SQL text: hand-written and generated queries (long IN lists from dashboards) stay far
 * below 1 MiB; the cap bounds the parser's work and memory for one request. */
#define VG_LIMIT_SQL_BYTES (1u << 20)
/* Nesting depth of SQL expressions and subqueries: the parser, binder, optimizer and
 * evaluator all recurse over the tree, so this bounds their stack use (SQLite's
 * SQLITE_MAX_EXPR_DEPTH plays the same role). A long a + b + c ... chain is a deep
 * tree too. */
#define VG_LIMIT_SQL_DEPTH 200
/* Parquet reader caps for untrusted files (the parquet module; callers may lower them).
 * A footer is metadata only, ~150 bytes per column chunk: 100,000 chunks fit in 16 MiB.
 * Decoded, it takes a few times its size, so the cap also bounds that memory. */
#define VG_LIMIT_PARQUET_FOOTER_BYTES (16u << 20)
/* One page, compressed or not: writers cut pages near 1 MiB, and one line-protocol
 * string is at most 1 MiB, so 256 MiB is corruption, not data. */
#define VG_LIMIT_PARQUET_PAGE_BYTES (256u << 20)
/* Decoded bytes of one column chunk (all its pages, and DELTA_BYTE_ARRAY's output): a
 * page that inflates 1000x is legal, so without this a small file could make the
 * reader decompress and keep gigabytes. Real chunks of strings stay far below. */
#define VG_LIMIT_PARQUET_CHUNK_BYTES (1u << 30)
/* Rows of one row group: decoding allocates arrays of this many values (DuckDB writes
 * 122,880 rows per group, Vigil 1 Mi by default). */
#define VG_LIMIT_PARQUET_ROW_GROUP_ROWS (64u << 20)
/* Nesting of Thrift structs in a footer or page header: Parquet's deepest is 5; the
 * cap bounds the recursion that skips unknown fields. */
#define VG_LIMIT_PARQUET_THRIFT_DEPTH 32

/* ------------------------------------------------------------------------ */
/* Result codes and the error object                                        */
/* ------------------------------------------------------------------------ */

typedef enum vg_code {
    VG_OK = 0,
    VG_EINVAL,    /* bad input from the user: HTTP 400 */
    VG_ENOTFOUND, /* unknown database/table/...: HTTP 404 */
    VG_EEXISTS,   /* already exists: HTTP 409 */
    VG_ELIMIT,    /* a configured limit would be exceeded: HTTP 422 */
    VG_ETOOBIG,   /* body or element over its size cap: HTTP 413 */
    VG_ENOMEM,    /* allocation failed (or memory budget exceeded) */
    VG_EIO,       /* operating-system I/O error */
    VG_ECORRUPT,  /* on-disk data failed a check */
    VG_EINTERNAL, /* a bug: "cannot happen" */
} vg_code;

typedef struct vg_err {
    vg_code code;
    char msg[VG_ERR_MSG_BYTES];
} vg_err;

/* Sets code and message (printf format) and returns the code. `e` may be NULL. */
int vg_err_set(vg_err *e, vg_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like vg_err_set, then appends ": <strerror(errnum)>". */
int vg_err_errno(vg_err *e, vg_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void vg_err_clear(vg_err *e);
const char *vg_code_name(vg_code code);

/* Marks "cannot happen" branches: aborts in debug builds, returns false in release. */
#ifdef NDEBUG
#define VG_NEVER(x) (x)
#else
#define VG_NEVER(x) ((x) ? (vg_never_fail(#x, __FILE__, __LINE__), 1) : 0)
#endif
void vg_never_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/* ------------------------------------------------------------------------ */
/* Allocation: one wrapper that counts bytes and can be made to fail        */
/* ------------------------------------------------------------------------ */

/* All return NULL on failure; callers handle it. vg_free(NULL) is a no-op. */
void *vg_malloc(size_t n);
void *vg_calloc(size_t count, size_t size);
void *vg_realloc(void *p, size_t n);
void vg_free(void *p);
char *vg_strdup(const char *s);
char *vg_strndup(const char *s, size_t n);
/* Bytes currently allocated through the wrapper. */
size_t vg_mem_used(void);
/* Fault injection for tests: the n-th allocation from now fails (1 = the next one);
 * n <= 0 turns injection off. */
void vg_mem_fail_after(long n);

/* ------------------------------------------------------------------------ */
/* Arenas: allocate by lifetime, free wholesale                             */
/* ------------------------------------------------------------------------ */

typedef struct vg_arena_block vg_arena_block;
typedef struct vg_arena {
    vg_arena_block *head;
    size_t block_size;
    size_t used; /* bytes handed out */
} vg_arena;

void vg_arena_init(vg_arena *a, size_t block_size);
/* 16-byte aligned; NULL on failure. */
void *vg_arena_alloc(vg_arena *a, size_t n);
void *vg_arena_calloc(vg_arena *a, size_t n);
char *vg_arena_strndup(vg_arena *a, const char *s, size_t n);
/* Frees every block but the first, which is kept for reuse. */
void vg_arena_reset(vg_arena *a);
void vg_arena_free(vg_arena *a);

/* ------------------------------------------------------------------------ */
/* Strings                                                                  */
/* ------------------------------------------------------------------------ */

/* A borrowed slice of bytes (not NUL-terminated). */
typedef struct vg_str {
    const char *ptr;
    size_t len;
} vg_str;

#define VG_STR(lit) ((vg_str){(lit), sizeof(lit) - 1})
vg_str vg_str_c(const char *s);
bool vg_str_eq(vg_str a, vg_str b);
bool vg_str_eq_c(vg_str a, const char *s);

/* A growable byte buffer, always NUL-terminated when data != NULL. On allocation
 * failure the buffer sets `oom` and ignores further appends, so a sequence of
 * appends needs one check at the end. */
typedef struct vg_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} vg_buf;

void vg_buf_init(vg_buf *b);
void vg_buf_free(vg_buf *b);
void vg_buf_reset(vg_buf *b); /* len = 0, keeps memory */
bool vg_buf_reserve(vg_buf *b, size_t extra);
void vg_buf_append(vg_buf *b, const void *p, size_t n);
void vg_buf_puts(vg_buf *b, const char *s);
void vg_buf_putc(vg_buf *b, char c);
void vg_buf_printf(vg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vg_buf_vprintf(vg_buf *b, const char *fmt, va_list ap);
/* Hands the bytes to the caller (who vg_free()s them) and resets the buffer. */
char *vg_buf_steal(vg_buf *b);

/* Fast integer formatting; returns bytes written (no NUL). out needs 21 bytes. */
size_t vg_fmt_i64(int64_t v, char *out);
size_t vg_fmt_u64(uint64_t v, char *out);
/* Shortest round-trip formatting of a double (like JSON / Rust's Display);
 * out needs 32 bytes. NaN and infinities print as "NaN", "inf", "-inf". */
size_t vg_fmt_f64(double v, char *out);

/* ------------------------------------------------------------------------ */
/* Hash map: byte-string keys (copied, owned by the map) to void* values     */
/* ------------------------------------------------------------------------ */

typedef struct vg_map_entry {
    uint64_t hash;
    char *key; /* NULL = empty slot; owned by the map, NUL-terminated */
    size_t klen;
    void *val;
} vg_map_entry;

typedef struct vg_map {
    vg_map_entry *slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
    size_t tombstones;
} vg_map;

uint64_t vg_hash(const void *p, size_t n); /* XXH3 */
void vg_map_init(vg_map *m);
void vg_map_free(vg_map *m); /* frees keys, not values */
/* Returns the value, or NULL when absent (so do not store NULL values). */
void *vg_map_get(const vg_map *m, const char *key, size_t klen);
void *vg_map_get_h(const vg_map *m, const char *key, size_t klen, uint64_t hash);
/* Inserts or replaces. VG_OK or VG_ENOMEM. */
int vg_map_put(vg_map *m, const char *key, size_t klen, void *val);
/* Removes the key; returns its value or NULL. */
void *vg_map_del(vg_map *m, const char *key, size_t klen);
/* Iteration: for (size_t i = 0; vg_map_next(m, &i, &e);) ... */
bool vg_map_next(const vg_map *m, size_t *iter, const vg_map_entry **out);

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

#define VG_NS_PER_US 1000LL
#define VG_NS_PER_MS 1000000LL
#define VG_NS_PER_SEC 1000000000LL

int64_t vg_now_ns(void);  /* wall clock, ns since the Unix epoch (UTC) */
int64_t vg_mono_ns(void); /* monotonic clock */
void vg_sleep_ns(int64_t ns);

/* Human durations as InfluxDB takes them: "10s", "1h30m", "250ms", "7d", "2w",
 * "1mo" (30 d), "1y" (365 d), "1us", "1ns", also with spaces ("10 minutes",
 * "1 hour"). "0" is zero. Negative durations are rejected. */
int vg_parse_duration(const char *s, size_t len, int64_t *ns, vg_err *e);
/* Formats like "1h30m", "250ms", "0s". out needs 64 bytes. */
size_t vg_format_duration(int64_t ns, char *out);
/* RFC 3339 / ISO 8601 with optional fraction and zone ('Z', +hh:mm); a missing
 * zone means UTC. Also accepts a date alone and a space instead of 'T'. */
int vg_parse_timestamp(const char *s, size_t len, int64_t *ns, vg_err *e);
/* "2026-01-07T17:28:51" with fraction only when non-zero (3, 6 or 9 digits as
 * needed, as Core prints), and a trailing 'Z' when `zulu`. out needs 40 bytes. */
size_t vg_format_timestamp(int64_t ns, bool zulu, char *out);

/* ------------------------------------------------------------------------ */
/* JSON writer                                                              */
/* ------------------------------------------------------------------------ */

/* Appends s as a JSON string literal (with quotes), escaping as RFC 8259 needs. */
void vg_json_str(vg_buf *b, const char *s, size_t len);

#define VG_JSON_MAX_DEPTH 32
typedef struct vg_jw {
    vg_buf *b;
    int depth;
    bool first[VG_JSON_MAX_DEPTH]; /* nothing written yet at this depth */
    bool after_key;
} vg_jw;

void vg_jw_init(vg_jw *w, vg_buf *b);
void vg_jw_obj_begin(vg_jw *w);
void vg_jw_obj_end(vg_jw *w);
void vg_jw_arr_begin(vg_jw *w);
void vg_jw_arr_end(vg_jw *w);
void vg_jw_key(vg_jw *w, const char *k);
void vg_jw_str(vg_jw *w, const char *s);
void vg_jw_strn(vg_jw *w, const char *s, size_t len);
void vg_jw_i64(vg_jw *w, int64_t v);
void vg_jw_u64(vg_jw *w, uint64_t v);
void vg_jw_f64(vg_jw *w, double v); /* non-finite values become null */
void vg_jw_bool(vg_jw *w, bool v);
void vg_jw_null(vg_jw *w);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum vg_log_level {
    VG_LOG_ERROR = 0,
    VG_LOG_WARN,
    VG_LOG_INFO,
    VG_LOG_DEBUG,
    VG_LOG_TRACE,
} vg_log_level;

/* Filter as in `--log-filter`: a default level, optionally followed by per-module
 * overrides, e.g. "info", "warn,wal=debug,http=trace". */
int vg_log_set_filter(const char *filter, vg_err *e);
bool vg_log_enabled(vg_log_level level, const char *module);
void vg_log(vg_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define VG_ERROR(mod, ...) vg_log(VG_LOG_ERROR, mod, __VA_ARGS__)
#define VG_WARN(mod, ...) vg_log(VG_LOG_WARN, mod, __VA_ARGS__)
#define VG_INFO(mod, ...) vg_log(VG_LOG_INFO, mod, __VA_ARGS__)
#define VG_DEBUG(mod, ...) vg_log(VG_LOG_DEBUG, mod, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* CRC32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2       */
/* ------------------------------------------------------------------------ */

uint32_t vg_crc32c(uint32_t crc, const void *p, size_t n);

/* ------------------------------------------------------------------------ */
/* Files and durability                                                     */
/* ------------------------------------------------------------------------ */

/* Creates a directory and its parents (mode 0755). */
int vg_mkdir_p(const char *path, vg_err *e);
/* write(2) until done, retrying EINTR and short writes. */
int vg_write_all(int fd, const void *p, size_t n, vg_err *e);
/* pread(2) until n bytes or EOF; *got receives the count. */
int vg_pread_all(int fd, void *p, size_t n, uint64_t off, size_t *got, vg_err *e);
/* fsync/fdatasync that treat failure as fatal (PostgreSQL's fsync-panic policy:
 * after a failed fsync the kernel may have dropped the dirty pages, so retrying
 * could report success for lost data). `what` names the file in the log line. */
void vg_fsync_or_die(int fd, const char *what);
void vg_fdatasync_or_die(int fd, const char *what);
void vg_fsync_dir_or_die(const char *dir);
/* Publishes a whole file durably: write "<path>.tmp", fsync, rename, fsync dir. */
int vg_durable_write_file(const char *path, const void *p, size_t n, vg_err *e);
/* The last steps of that for a temporary file written through fd: fsync, close,
 * rename to path, fsync of path's directory. fd is closed either way; tmp is removed
 * when the publish fails (a path too long, a failed rename). */
int vg_durable_publish(int fd, const char *tmp, const char *path, vg_err *e);
/* Reads a whole file into b (appending). */
int vg_read_file(const char *path, vg_buf *b, vg_err *e);
/* Joins two path parts with one '/', into a vg_malloc'd string (NULL on OOM). */
char *vg_path_join(const char *a, const char *b);

#endif /* VIGIL_BASE_H */
