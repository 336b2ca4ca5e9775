/* cli/flush.c: `vigil flush [--database DB]`, over POST /api/v3/persist: the server
 * writes its write buffer to Parquet files now and says what it wrote. A snapshot
 * always covers every database; --database only checks that one exists. */
#include "cli_int.h"

#include <jansson.h>
#include <string.h>

const cli_opt *const cli_flush_opts[] = {
    &cli_opt_host, &cli_opt_token, &cli_opt_database, NULL,
};

static void print_result(const client_response *r)
{
    json_error_t err;
    json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &err);
    if (!json_is_object(root)) {
        cli_print_body(r);
        json_decref(root);
        return;
    }
    long long files = json_integer_value(json_object_get(root, "files"));
    long long rows = json_integer_value(json_object_get(root, "rows"));
    long long bytes = json_integer_value(json_object_get(root, "bytes"));
    if (files == 0)
        printf("Nothing to persist: the write buffer is empty\n");
    else
        printf("Persisted %lld row(s) to %lld Parquet file(s), %lld bytes\n", rows, files, bytes);
    json_decref(root);
}

int cli_flush(const cli_args *a)
{
    const char *db = cli_get(a, "database");
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    vg_buf q;
    vg_buf_init(&q);
    if (db)
        client_query_add(&q, "db", db);
    client_request req = {.method = "POST", .path = "/api/v3/persist", .query = q.data};
    client_response r;
    client_response_init(&r);
    int rc = q.oom ? cli_fail("out of memory") : cli_send(c, &req, &r);
    if (rc == CLI_EXIT_OK && r.status == 200)
        print_result(&r);
    else if (rc == CLI_EXIT_OK)
        rc = cli_server_error(&r, "cannot persist the write buffer");
    client_response_free(&r);
    vg_buf_free(&q);
    client_free(c);
    return rc;
}
