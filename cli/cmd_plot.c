/* cmd_plot.c - `llc plot` (being written). */
#include "cli.h"
int cmd_plot(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error(EXIT_USAGE, "plot: not implemented yet");
}
