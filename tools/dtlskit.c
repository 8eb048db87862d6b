/* dtlskit: the command-line tool. `dtlskit server` and `dtlskit client`, in
 * the spirit of openssl s_server and s_client. */
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "cli_util.h"

int probe_main(int argc, char **argv); /* probe.c: `dtlskit probe` */

static int run(cli_mode mode, int argc, char **argv)
{
    cli_opts o;
    int rc = cli_parse_args(mode, argc, argv, &o);
    if (rc != 0) {
        return rc;
    }
    if (o.help) {
        cli_print_usage(mode, stdout);
        return CLI_EXIT_OK;
    }
    return mode == CLI_SERVER ? cli_server_main(&o) : cli_client_main(&o);
}

int main(int argc, char **argv)
{
    /* Line-buffered so a harness reading our stdout sees each line at once. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        return cli_fail(CLI_EXIT_USAGE, "missing subcommand: server or client (try --help)");
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "server") == 0) {
        return run(CLI_SERVER, argc - 2, argv + 2);
    }
    if (strcmp(cmd, "client") == 0) {
        return run(CLI_CLIENT, argc - 2, argv + 2);
    }
    if (strcmp(cmd, "probe") == 0) {
        return probe_main(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        cli_print_main_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("dtlskit %s\n", DTLSKIT_VERSION);
        return CLI_EXIT_OK;
    }
    return cli_fail(CLI_EXIT_USAGE, "unknown subcommand '%s' (try --help)", cmd);
}
