/*
 * tests/fuzz/replay.c: a plain main() that feeds saved inputs to a fuzz target's
 * LLVMFuzzerTestOneInput, so the corpus runs as a regression test without libFuzzer.
 *
 * usage: <target> PATH...   (a directory: every regular file in it, in name order;
 * a file: that file). Each input gets a buffer of exactly its size, so a sanitizer
 * catches any read past the end. A target reports failure by aborting.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        perror(path);
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int only_files(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

static int run_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, only_files, alphasort);
    if (n < 0) {
        perror(dir);
        return -1;
    }
    int count = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
        char *path = malloc(len);
        struct stat st;
        if (!path) {
            rc = -1;
        } else {
            snprintf(path, len, "%s/%s", dir, names[i]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (run_file(path) == 0)
                    count++;
                else
                    rc = -1;
            }
        }
        free(path);
        free(names[i]);
    }
    free(names);
    if (rc == 0)
        printf("fuzz replay %s: %d inputs ok\n", dir, count);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            rc |= run_dir(argv[i]) != 0;
        } else if (run_file(argv[i]) == 0) {
            printf("fuzz replay %s: 1 input ok\n", argv[i]);
        } else {
            rc = 1;
        }
    }
    return rc;
}
