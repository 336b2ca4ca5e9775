/* catalog/names.c: naming rules and names: Core's database-name validation, column
 * type names, the soft-delete rename, and the catalog UUID. */
#include "catalog_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *catalog_type_iox_name(catalog_type t)
{
    switch (t) {
    case CATALOG_TIME: return "iox::column_type::timestamp";
    case CATALOG_TAG: return "iox::column_type::tag";
    case CATALOG_FLOAT: return "iox::column_type::field::float";
    case CATALOG_INT: return "iox::column_type::field::integer";
    case CATALOG_UINT: return "iox::column_type::field::uinteger";
    case CATALOG_STRING: return "iox::column_type::field::string";
    case CATALOG_BOOL: return "iox::column_type::field::boolean";
    }
    return "unknown";
}

const char *catalog_type_name(catalog_type t)
{
    switch (t) {
    case CATALOG_TIME: return "time";
    case CATALOG_TAG: return "tag";
    case CATALOG_FLOAT: return "float64";
    case CATALOG_INT: return "int64";
    case CATALOG_UINT: return "uint64";
    case CATALOG_STRING: return "utf8";
    case CATALOG_BOOL: return "bool";
    }
    return "unknown";
}

bool cat_type_valid(catalog_type t)
{
    return (unsigned)t <= (unsigned)CATALOG_BOOL;
}

bool cat_type_is_field(catalog_type t)
{
    return cat_type_valid(t) && t >= CATALOG_FLOAT;
}

static bool is_alnum(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Core walks grapheme clusters and calls any cluster longer than one byte an invalid
 * character, before it looks at what the character is. For ASCII-only input the only
 * multi-byte cluster is CR LF, and any non-ASCII byte belongs to one; so a byte walk
 * that treats those two cases first gives the same answers. */
int catalog_validate_db_name(const char *name, size_t len, vg_err *e)
{
    static const char invalid_char[] =
        "invalid character in database or rp name: must be ASCII, containing only letters, "
        "numbers, underscores, or hyphens";
    static const char invalid_rp[] =
        "db name with invalid retention policy, if providing a retention policy name, must be "
        "of form '<db_name>/<rp_name>'";
    if (len == 0)
        return vg_err_set(e, VG_EINVAL, "db name cannot be empty");
    if (len > VG_LIMIT_DB_NAME_BYTES)
        return vg_err_set(e, VG_EINVAL, "db name too long: max %d", VG_LIMIT_DB_NAME_BYTES);
    bool seen_slash = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch >= 0x80 || (ch == '\r' && i + 1 < len && name[i + 1] == '\n'))
            return vg_err_set(e, VG_EINVAL, "%s", invalid_char);
        if (i == 0) {
            if (!is_alnum(ch))
                return vg_err_set(e, VG_EINVAL, "db name did not start with a number or letter");
            continue;
        }
        if (ch == '/') {
            if (seen_slash)
                return vg_err_set(e, VG_EINVAL, "%s", invalid_rp);
            seen_slash = true;
            continue;
        }
        if (!is_alnum(ch) && ch != '_' && ch != '-')
            return vg_err_set(e, VG_EINVAL, "%s", invalid_char);
    }
    if (name[len - 1] == '/')
        return vg_err_set(e, VG_EINVAL, "%s", invalid_rp);
    return VG_OK;
}

char *cat_deleted_name(const char *name, size_t len, int64_t at_ns, size_t *out_len)
{
    time_t secs = (time_t)(at_ns / VG_NS_PER_SEC);
    if (at_ns < 0 && at_ns % VG_NS_PER_SEC)
        secs--;
    struct tm tm;
    char stamp[64];
    if (!gmtime_r(&secs, &tm) || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm) == 0)
        snprintf(stamp, sizeof stamp, "%lld", (long long)secs);
    size_t slen = strlen(stamp);
    char *out = vg_malloc(len + 1 + slen + 1);
    if (!out)
        return NULL;
    memcpy(out, name, len);
    out[len] = '-';
    memcpy(out + len + 1, stamp, slen + 1);
    *out_len = len + 1 + slen;
    return out;
}

int cat_make_uuid(uint8_t out[16], vg_err *e)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vg_err_errno(e, VG_EIO, errno, "cannot open /dev/urandom for the catalog UUID");
    size_t got = 0;
    while (got < 16) {
        ssize_t r = read(fd, out + got, 16 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int err = r < 0 ? errno : EIO;
            close(fd);
            return vg_err_errno(e, VG_EIO, err, "cannot read /dev/urandom for the catalog UUID");
        }
        got += (size_t)r;
    }
    close(fd);
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40); /* version 4: random */
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    return VG_OK;
}

void cat_format_uuid(const uint8_t u[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[u[i] >> 4];
        out[k++] = hex[u[i] & 15];
    }
    out[k] = '\0';
}
