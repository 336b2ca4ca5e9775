/*
 * server: the composition root. Parses `vigil serve` flags (each with a VIGIL_*
 * environment variable), opens catalog, WAL and buffer, replays the WAL, starts the
 * HTTP server, and shuts down cleanly on SIGINT/SIGTERM.
 *
 * Depends on: everything.
 */
#ifndef VIGIL_SERVER_H
#define VIGIL_SERVER_H

#include "base/base.h"

#define VIGIL_VERSION "0.1.0"

/* Entry point of `vigil serve ARGS...` (argv[0] is "serve"). Returns the process
 * exit status: 0 after a clean shutdown, 2 for bad flags, 1 for start-up errors. */
int server_serve_main(int argc, char **argv);

#endif /* VIGIL_SERVER_H */
