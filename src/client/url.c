/* client/url.c: base-URL parsing and formatting, percent-encoding, query strings. */
#include "client.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_unreserved(char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Strips the scheme. A missing scheme means http: people type "localhost:8181". */
static int parse_scheme(const char *url, const char **rest, vg_err *e)
{
    const char *sep = strstr(url, "://");
    if (!sep) {
        *rest = url;
        return VG_OK;
    }
    size_t n = (size_t)(sep - url);
    if (n == 4 && strncasecmp(url, "http", 4) == 0) {
        *rest = sep + 3;
        return VG_OK;
    }
    if (n == 5 && strncasecmp(url, "https", 5) == 0)
        return vg_err_set(e, VG_EINVAL,
                          "invalid host URL '%s': https is not supported yet; use http://", url);
    return vg_err_set(
        e, VG_EINVAL,
        "invalid host URL '%s': unsupported scheme '%.*s' (expected http://host:port)", url, (int)n,
        url);
}

static int parse_port(const char *url, const char *p, size_t n, uint16_t *port, vg_err *e)
{
    unsigned long v = 0;
    bool ok = n > 0 && n <= 5;
    for (size_t i = 0; ok && i < n; i++) {
        ok = p[i] >= '0' && p[i] <= '9';
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (!ok || v == 0 || v > 65535)
        return vg_err_set(e, VG_EINVAL, "invalid host URL '%s': bad port '%.*s' (expected 1-65535)",
                          url, (int)n, p);
    *port = (uint16_t)v;
    return VG_OK;
}

/* host[:port] or [v6]:port, the authority without userinfo. */
static int parse_hostport(const char *url, const char *a, size_t n, client_url *u, vg_err *e)
{
    const char *host = a, *port = NULL;
    size_t hlen = n, plen = 0;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return vg_err_set(e, VG_EINVAL, "invalid host URL '%s': missing ']'", url);
        host = a + 1;
        hlen = (size_t)(close - host);
        size_t after = n - (size_t)(close + 1 - a);
        if (after > 0 && close[1] != ':')
            return vg_err_set(e, VG_EINVAL, "invalid host URL '%s': junk after ']'", url);
        if (after > 0) {
            port = close + 2;
            plen = after - 1;
        }
        u->ipv6 = true;
    } else {
        const char *colon = memchr(a, ':', n);
        if (colon) {
            hlen = (size_t)(colon - a);
            port = colon + 1;
            plen = n - hlen - 1;
        }
    }
    if (hlen == 0)
        return vg_err_set(e, VG_EINVAL, "invalid host URL '%s': no host name", url);
    if (hlen >= sizeof u->host)
        return vg_err_set(e, VG_EINVAL, "invalid host URL '%s': host name too long", url);
    for (size_t i = 0; i < hlen; i++) {
        char c = host[i];
        /* An IPv6 literal may end in a zone ("%eth0"); getaddrinfo judges the rest. */
        bool ok =
            is_alnum(c) || c == '-' || c == '.' || c == '_' || (u->ipv6 && (c == ':' || c == '%'));
        if (!ok)
            return vg_err_set(e, VG_EINVAL, "invalid host URL '%s': bad character '%c' in host",
                              url, c);
    }
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    u->port = 80;
    if (port)
        return parse_port(url, port, plen, &u->port, e);
    return VG_OK;
}

int client_url_parse(const char *url, client_url *u, vg_err *e)
{
    memset(u, 0, sizeof *u);
    if (!url || !*url)
        return vg_err_set(e, VG_EINVAL, "empty host URL (expected http://host:port)");
    const char *rest = url;
    int rc = parse_scheme(url, &rest, e);
    if (rc)
        return rc;
    size_t alen = strcspn(rest, "/?#");
    if (memchr(rest, '@', alen))
        return vg_err_set(e, VG_EINVAL,
                          "invalid host URL '%s': credentials in the URL are not supported; "
                          "use --token",
                          url);
    rc = parse_hostport(url, rest, alen, u, e);
    if (rc)
        return rc;
    const char *path = rest + alen;
    size_t plen = strcspn(path, "?#");
    if (path[plen])
        return vg_err_set(e, VG_EINVAL,
                          "invalid host URL '%s': a query or fragment is not allowed here", url);
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    if (plen >= sizeof u->path)
        return vg_err_set(e, VG_EINVAL, "invalid host URL '%s': path too long", url);
    memcpy(u->path, path, plen);
    u->path[plen] = '\0';
    return VG_OK;
}

void client_url_format(const client_url *u, vg_buf *b)
{
    if (u->ipv6)
        vg_buf_printf(b, "http://[%s]:%u%s", u->host, (unsigned)u->port, u->path);
    else
        vg_buf_printf(b, "http://%s:%u%s", u->host, (unsigned)u->port, u->path);
}

void client_url_encode(vg_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!vg_buf_reserve(b, len))
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved((char)c)) {
            vg_buf_putc(b, (char)c);
        } else {
            char pct[3] = {'%', hex[c >> 4], hex[c & 15]};
            vg_buf_append(b, pct, 3);
        }
    }
}

void client_query_add(vg_buf *q, const char *key, const char *value)
{
    if (q->len > 0)
        vg_buf_putc(q, '&');
    vg_buf_puts(q, key);
    vg_buf_putc(q, '=');
    client_url_encode(q, value, strlen(value));
}
