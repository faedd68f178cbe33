/* cmd_theory.c - `llc theory`: the exact learning coefficient λ and its
 * multiplicity m of the ground-truth models (llc/ESTIMATOR.md). */
#include "cli.h"
#include "llc_theory.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc theory (--dln H0,H1,...,HL [--rank R] | --linreg D | --poly K1,K2,... | --locality origin|line)\n"
    "Print the true learning coefficient λ and multiplicity m:\n"
    "  --dln      deep linear network with these widths (input first), true rank R (Aoyagi 2024)\n"
    "  --linreg   regular linear regression with D weights (λ = D/2)\n"
    "  --poly     normal crossing K(w) = Π w_j^(2 k_j) (λ = min 1/(2 k_j))\n"
    "  --locality f = x(w1-1)(w1²+w2²)² at the origin (1/4) or on the line w1 = 1 (1/2)\n";

static const cli_optdef defs[] = {{"dln", 1, "widths, e.g. 5,4,5"},
                                  {"rank", 1, "true rank of the DLN (default 0)"},
                                  {"linreg", 1, "number of weights"},
                                  {"poly", 1, "exponents k_j, e.g. 1,2"},
                                  {"locality", 1, "origin or line"},
                                  {NULL, 0, NULL}};

/* Parse "a,b,c" into ints >= lo. Returns the count or -1. */
static int parse_ints(const char *s, int *out, int max, int lo)
{
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < lo || v > 1000000 || n >= max || (*end && *end != ',')) return -1;
        out[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return n;
}

int cmd_theory(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "theory", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    double lambda = 0;
    int m = 0, ints[64], n;
    char err[LLC_ERRLEN] = "";
    const char *v;
    if ((v = cli_get(&a, "dln"))) {
        long long r;
        if (cli_get_ll(&a, "rank", 0, 0, 1000000, &r)) return EXIT_USAGE;
        if ((n = parse_ints(v, ints, 64, 1)) < 2)
            return cli_error(EXIT_USAGE, "theory: --dln needs at least two positive widths like 5,4,5, got '%s'", v);
        if ((rc = llc_theory_dln(ints, n, (int)r, &lambda, &m, err)))
            return cli_error(cli_exit_code(rc), "theory: %s", err);
        long long d = 0;
        for (int i = 1; i < n; i++) d += (long long)ints[i] * ints[i - 1];
        printf("dln %s rank %lld: %lld params, lambda %.10g, m %d\n", v, r, d, lambda, m);
    } else if ((v = cli_get(&a, "linreg"))) {
        long long d;
        if (cli_get_ll(&a, "linreg", 1, 1, 100000000, &d)) return EXIT_USAGE;
        llc_theory_linreg((int)d, &lambda, &m);
        printf("linreg %lld: lambda %.10g, m %d\n", d, lambda, m);
    } else if ((v = cli_get(&a, "poly"))) {
        if ((n = parse_ints(v, ints, 64, 0)) < 1 || llc_theory_poly(ints, n, &lambda, &m))
            return cli_error(EXIT_USAGE, "theory: --poly needs exponents >= 0, not all 0, like 1,2; got '%s'", v);
        printf("poly %s: lambda %.10g, m %d\n", v, lambda, m);
    } else if ((v = cli_get(&a, "locality"))) {
        if (strcmp(v, "origin") && strcmp(v, "line"))
            return cli_error(EXIT_USAGE, "theory: --locality must be 'origin' or 'line', got '%s'", v);
        llc_theory_poly_locality(strcmp(v, "line") == 0, &lambda, &m);
        printf("locality %s: lambda %.10g, m %d\n", v, lambda, m);
    } else {
        return cli_error(EXIT_USAGE, "theory: give one of --dln, --linreg, --poly, --locality (see llc theory --help)");
    }
    return 0;
}
