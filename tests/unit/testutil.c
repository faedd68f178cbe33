/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

int tu_pass, tu_fail;
int tu_verbose = -1;

void tu_check(int ok, const char *file, int line, const char *fmt, ...)
{
    if (tu_verbose < 0) tu_verbose = getenv("TEST_VERBOSE") != NULL;
    if (ok) tu_pass++;
    else tu_fail++;
    if (!ok || tu_verbose) {
        va_list ap;
        va_start(ap, fmt);
        printf("%s: %s:%d: ", ok ? "PASS" : "FAIL", file, line);
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
        fflush(stdout);
    }
}

void tu_close(double got, double want, double atol, double rtol, const char *file,
              int line, const char *what)
{
    double tol = atol + rtol * fabs(want);
    int ok = isfinite(got) && fabs(got - want) <= tol;
    tu_check(ok, file, line, "%s: got %.9g want %.9g (tol %.3g)", what, got, want, tol);
}

int tu_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, tu_pass, tu_fail);
    return tu_fail ? 1 : 0;
}

unsigned char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}
