/* cmd_export.c - `llc export` (being written). */
#include "cli.h"
int cmd_export(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error(EXIT_USAGE, "export: not implemented yet");
}
