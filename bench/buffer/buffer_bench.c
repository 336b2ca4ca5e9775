/*
 * bench/buffer/buffer_bench.c: single-thread throughput of buffer_append, the write
 * buffer's hot path, on the ingest benchmark's row shape: 2 tags (site: 10 values,
 * device: 1,000 values) and 10 float fields, rows cycling through the 1,000 series.
 * Each pass appends ROWS rows into a fresh buffer (default chunks of 65,536 rows),
 * then takes a snapshot and frees everything; prints every pass and the best.
 *
 * usage: buffer_bench [rows] [passes]
 */
#include "buffer/buffer.h"

#include <stdio.h>
#include <stdlib.h>

#define DEVICES 1000
#define SITES 10
#define FIELDS 10

static char device_names[DEVICES][16];
static char site_names[SITES][8];

static double run_pass(uint64_t rows, size_t *mem_out, size_t *chunks_out)
{
    buffer *b = buffer_new(NULL);
    buffer_value vals[2 + FIELDS];
    for (int f = 0; f < FIELDS; f++) {
        vals[2 + f].col = (uint32_t)(3 + f);
        vals[2 + f].type = CATALOG_FLOAT;
    }
    vals[0].col = 1;
    vals[0].type = CATALOG_TAG;
    vals[1].col = 2;
    vals[1].type = CATALOG_TAG;
    const uint32_t ncols = 3 + FIELDS;
    vg_err e;
    int64_t t0 = vg_mono_ns();
    for (uint64_t i = 0; i < rows; i++) {
        uint32_t dev = (uint32_t)(i % DEVICES);
        vals[0].v.s.p = site_names[dev % SITES];
        vals[0].v.s.len = 2;
        vals[1].v.s.p = device_names[dev];
        vals[1].v.s.len = 11;
        for (int f = 0; f < FIELDS; f++)
            vals[2 + f].v.f = (double)(i & 1023) * 0.5 + f;
        if (buffer_append(b, 0, 0, ncols, 1700000000000000000LL + (int64_t)i, vals, 2 + FIELDS, i,
                          &e) != VG_OK) {
            fprintf(stderr, "buffer_append: %s\n", e.msg);
            exit(1);
        }
    }
    int64_t t1 = vg_mono_ns();
    *mem_out = buffer_mem_bytes(b);
    buffer_chunk **chunks;
    size_t n;
    buffer_snapshot(b, 0, 0, &chunks, &n, NULL);
    *chunks_out = n;
    buffer_snapshot_release(chunks, n);
    buffer_free(b);
    return (double)(t1 - t0) / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    int passes = argc > 2 ? atoi(argv[2]) : 3;
    for (int d = 0; d < DEVICES; d++)
        snprintf(device_names[d], sizeof device_names[d], "device-%04d", d);
    for (int s = 0; s < SITES; s++)
        snprintf(site_names[s], sizeof site_names[s], "s%d", s);
    double best = 0;
    for (int p = 0; p < passes; p++) {
        size_t mem, chunks;
        double secs = run_pass(rows, &mem, &chunks);
        double rate = (double)rows / secs;
        if (rate > best)
            best = rate;
        printf("pass %d: %llu rows in %.3f s = %.2f M rows/s (%.1f ns/row), %zu chunks, "
               "%.1f MB held (%.1f B/row)\n",
               p + 1, (unsigned long long)rows, secs, rate / 1e6, secs * 1e9 / (double)rows, chunks,
               (double)mem / 1e6, (double)mem / (double)rows);
    }
    printf("RESULT rows_per_s=%.0f\n", best);
    return 0;
}
