/* tests/unit/test.h: the tiny unit-test harness every tests/unit/test_*.c uses.
 *
 * A test file defines `static void test_x(void)` functions and lists them in
 * `TEST_MAIN(test_a, test_b, ...)`. Checks record failures and continue; the
 * program prints one line per failure and ends with `N passed, N failed`. */
#ifndef VIGIL_TEST_H
#define VIGIL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int test_failures_in_current;
static const char *test_current_name;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            printf("FAIL %s (%s:%d): %s\n", test_current_name, __FILE__, __LINE__, #cond);     \
            test_failures_in_current++;                                                        \
        }                                                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                                        \
    do {                                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                  \
        if (va_ != vb_) {                                                                      \
            printf("FAIL %s (%s:%d): %s == %lld, expected %lld\n", test_current_name,          \
                   __FILE__, __LINE__, #a, va_, vb_);                                          \
            test_failures_in_current++;                                                        \
        }                                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                                     \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                           \
            printf("FAIL %s (%s:%d): %s == \"%s\", expected \"%s\"\n", test_current_name,      \
                   __FILE__, __LINE__, #a, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");        \
            test_failures_in_current++;                                                        \
        }                                                                                      \
    } while (0)

/* Compares a (pointer, length) slice with a C string. */
#define CHECK_MEM(p, n, s)                                                                     \
    do {                                                                                       \
        const char *sp_ = (const char *)(p), *ss_ = (s);                                       \
        size_t sn_ = (size_t)(n);                                                              \
        if (sn_ != strlen(ss_) || memcmp(sp_, ss_, sn_) != 0) {                                \
            printf("FAIL %s (%s:%d): %s == \"%.*s\", expected \"%s\"\n", test_current_name,    \
                   __FILE__, __LINE__, #p, (int)sn_, sp_, ss_);                                \
            test_failures_in_current++;                                                        \
        }                                                                                      \
    } while (0)

typedef void (*test_fn)(void);

static inline int test_run_all(const char *file, test_fn *fns, const char **names, int n)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        test_current_name = names[i];
        test_failures_in_current = 0;
        fns[i]();
        if (test_failures_in_current)
            failed++;
        else
            passed++;
    }
    printf("%s: %d passed, %d failed\n", file, passed, failed);
    return failed ? 1 : 0;
}

#define TEST_STR_(...) #__VA_ARGS__
#define TEST_MAIN(...)                                                                         \
    int main(void)                                                                             \
    {                                                                                          \
        test_fn fns[] = {__VA_ARGS__};                                                         \
        char names_buf[] = TEST_STR_(__VA_ARGS__);                                             \
        const char *names[sizeof fns / sizeof fns[0]];                                         \
        int k = 0;                                                                             \
        char *save = NULL;                                                                     \
        for (char *t = strtok_r(names_buf, ", ", &save); t && k < (int)(sizeof fns /           \
                                                              sizeof fns[0]);                  \
             t = strtok_r(NULL, ", ", &save))                                                  \
            names[k++] = t;                                                                    \
        return test_run_all(__FILE__, fns, names, (int)(sizeof fns / sizeof fns[0]));          \
    }

#endif
