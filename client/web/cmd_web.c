/*-------------------------------------------------------------------------
 *
 * cmd_web.c
 *		pgq web: serve the dashboard and /metrics until SIGINT or SIGTERM.
 *
 * IDENTIFICATION
 *		client/web/cmd_web.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pgq.h"
#include "web.h"

#define MIN_TOKEN_LEN 16
#define MAX_TOKEN_LEN 256

static void
usage(void)
{
	printf("Usage: pgq web [--bind ADDRESS:PORT] [--token-file FILE] [options]\n"
		   "\n"
		   "Serves a live dashboard of the queue (overview, jobs, failed jobs,\n"
		   "entrypoints, schedules) and Prometheus metrics at /metrics, until SIGINT\n"
		   "or SIGTERM.  Every read and action is a call of a pgqueuer.* function made\n"
		   "as the database role pgq web connects as, so that role's grants decide\n"
		   "what works (pgqueuer_admin for everything; metrics() alone is also\n"
		   "granted to pg_monitor).  Pages update live from LISTEN ch_pgqueuer.\n"
		   "\n"
		   "Actions (requeue, delete, cancel, pause, resume, schedule on/off) need a\n"
		   "secret token of at least 16 characters, read from --token-file or from\n"
		   "the environment variable PGQ_WEB_TOKEN, never from the command line.  A\n"
		   "browser logs in with it once; scripts send \"Authorization: Bearer TOKEN\".\n"
		   "Without a token the dashboard is read-only.  Reads and /metrics need no\n"
		   "token: the bind address decides who can reach them.\n"
		   "\n"
		   "Options:\n"
		   "  --bind ADDRESS:PORT    numeric address and port to listen on\n"
		   "                         (default 127.0.0.1:8080; [::1]:8080 for IPv6)\n"
		   "  --token-file FILE      read the action token from the first line of FILE\n"
		   "  --pool-size N          database connections for requests (default 4)\n"
		   "  --max-clients N        HTTP connections at once, event streams included\n"
		   "                         (default 64)\n"
		   "  --connect-timeout S    seconds to wait for the database (default 10)\n"
		   "  -h, --help             show this help and exit\n"
		   "\n"
		   "Exit status: 0 after SIGINT/SIGTERM, 1 when it cannot start, 2 for a\n"
		   "usage error.\n");
}

/*
 * parse_bind
 *		Split ADDRESS:PORT ([V6]:PORT for IPv6) into host (a static copy)
 *		and port; false when malformed.
 */
static bool
parse_bind(const char *text, char *host, size_t hostlen, int *port)
{
	const char *colon;
	const char *start = text;
	size_t		len;
	char	   *end;
	long		p;

	if (*text == '[')
	{
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return false;
		start = text + 1;
		len = (size_t) (close - start);
		colon = close + 1;
	}
	else
	{
		colon = strrchr(text, ':');
		if (colon == NULL)
			return false;
		len = (size_t) (colon - text);
	}
	if (len == 0 || len >= hostlen)
		return false;
	memcpy(host, start, len);
	host[len] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || p < 1 || p > 65535)
		return false;
	*port = (int) p;
	return true;
}

/*
 * read_token
 *		The token from the first line of path, or from PGQ_WEB_TOKEN when
 *		path is NULL; NULL (read-only) when neither is given.  Exits the
 *		command with a message when the token is unusable.
 */
static bool
read_token(PgqCli *cli, const char *path, char *out, size_t outlen, bool *have)
{
	const char *env = getenv("PGQ_WEB_TOKEN");
	size_t		len;

	*have = false;
	if (path != NULL)
	{
		FILE	   *f = fopen(path, "r");
		struct stat st;

		if (f == NULL)
		{
			pgq_cli_error(cli, "could not open token file \"%s\": %m", path);
			return false;
		}
		if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
			fprintf(stderr, "pgq web: warning: token file \"%s\" can be read by other users\n", path);
		if (fgets(out, (int) outlen, f) == NULL)
			out[0] = '\0';
		fclose(f);
	}
	else if (env != NULL)
		snprintf(out, outlen, "%s", env);
	else
		return true;
	len = strcspn(out, "\r\n");
	out[len] = '\0';
	if (len < MIN_TOKEN_LEN || len >= MAX_TOKEN_LEN - 1)
	{
		pgq_cli_error(cli, "the token must have %d to %d characters", MIN_TOKEN_LEN,
					  MAX_TOKEN_LEN - 2);
		return false;
	}
	*have = true;
	return true;
}

/*
 * cmd_web
 *		pgq web: serve the dashboard and /metrics until SIGINT or SIGTERM.
 */
int
cmd_web(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"bind", required_argument, NULL, 'b'},
		{"token-file", required_argument, NULL, 't'},
		{"pool-size", required_argument, NULL, 'p'},
		{"max-clients", required_argument, NULL, 'm'},
		{"connect-timeout", required_argument, NULL, 'c'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	char		host[64] = "127.0.0.1";
	char		token[MAX_TOKEN_LEN];
	const char *token_file = NULL;
	bool		have_token;
	long		pool = 4,
		 clients = 64,
		 timeout = 10;
	int		   port = 8080;
	WebConfig  config;
	WebServer *server;
	int		   c;
	int		   rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":h", options, usage, &rc)) >= 0)
	{
		switch (c)
		{
			case 'b':
				if (!parse_bind(optarg, host, sizeof(host), &port))
					return pgq_cli_usage(cli, "--bind wants ADDRESS:PORT, not \"%s\"", optarg);
				break;
			case 't':
				token_file = optarg;
				break;
			case 'p':
				if (!pgq_cli_parse_int(cli, "--pool-size", optarg, 1, 64, &pool))
					return PGQ_EXIT_USAGE;
				break;
			case 'm':
				if (!pgq_cli_parse_int(cli, "--max-clients", optarg, 4, 1024, &clients))
					return PGQ_EXIT_USAGE;
				break;
			case 'c':
				if (!pgq_cli_parse_int(cli, "--connect-timeout", optarg, 1, 3600, &timeout))
					return PGQ_EXIT_USAGE;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind]);
	if (!read_token(cli, token_file, token, sizeof(token), &have_token))
		return PGQ_EXIT_FAIL;

	memset(&config, 0, sizeof(config));
	config.host = host;
	config.port = port;
	config.conninfo = cli->dsn;
	config.token = have_token ? token : NULL;
	config.pool_size = (int) pool;
	config.max_clients = (int) clients;
	config.connect_timeout = (int) timeout;

	pgq_cli_catch_signals();
	server = web_server_start(&config);
	memset(token, 0, sizeof(token));
	if (server == NULL)
		return PGQ_EXIT_FAIL;
	printf("pgq web: serving http://%s%s%s:%d/ (actions %s)\n",
		   strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
		   have_token ? "enabled with the token" : "disabled: no token");
	fflush(stdout);
	while (!pgq_cli_interrupted)
		(void) poll(NULL, 0, 200);
	web_server_stop(server);
	printf("pgq web: stopped\n");
	return PGQ_EXIT_OK;
}
