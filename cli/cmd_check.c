/* cmd_check.c - `llc baseline` and `llc check` (being written). */
#include "cli.h"
int cmd_baseline(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error(EXIT_USAGE, "baseline: not implemented yet");
}
int cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error(EXIT_USAGE, "check: not implemented yet");
}
