/* fuzz_args.c - libFuzzer target: NUL-separated bytes as a command line for
 * the option parser and the config builder of `llc train` (no store is
 * touched: only parsing and validation). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const cli_optdef defs[] = {{"task", 1, ""}, {"run", 1, ""}, {"set", 2, ""}, {"steps", 1, ""},
                                  {"seed", 1, ""}, {"resume", 0, ""}, {"eps", 1, ""}, {NULL, 0, NULL}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[64];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < 64;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    cli_args a;
    if (cli_parse(&a, "train", "", defs, argc, argv) == 0) {
        long long v;
        double d;
        cli_get_ll(&a, "steps", 0, 0, 1000000, &v);
        cli_get_double(&a, "eps", 0, 1e-300, 10, &d);
        cJSON *root = cJSON_CreateObject();
        char err[LLC_ERRLEN];
        for (int i = 0; cli_get_nth(&a, "set", i); i++) llc_config_set(root, cli_get_nth(&a, "set", i), err);
        cli_valid_run_id(cli_get(&a, "run") ? cli_get(&a, "run") : "");
        cJSON_Delete(root);
    }
    free(buf);
    return 0;
}
