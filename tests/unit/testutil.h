/* testutil.h - one PASS/FAIL line per check, a tally, and a non-zero exit on
 * any failure (GSL's test.c style). Tests print their seed so a failure can
 * be replayed. */
#ifndef LLC_TESTUTIL_H
#define LLC_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>

extern int tu_pass, tu_fail;
extern int tu_verbose;

/* Record one check; prints "FAIL: ..." always, "PASS: ..." with TEST_VERBOSE=1. */
void tu_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* |got - want| <= atol + rtol*|want| */
void tu_close(double got, double want, double atol, double rtol, const char *file,
              int line, const char *what);
/* The whole file (malloc'd, caller frees) and its size; NULL if it cannot
 * be read or is empty. */
unsigned char *tu_read_file(const char *path, size_t *len);
/* Print the tally line "NAME: N passed, N failed" and return the exit code. */
int tu_finish(const char *name);

#define CHECK(cond, ...) tu_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_CLOSE(got, want, atol, rtol, what) \
    tu_close((got), (want), (atol), (rtol), __FILE__, __LINE__, (what))

#endif
