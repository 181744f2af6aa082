/*-------------------------------------------------------------------------
 *
 * run_factory.c
 *		pgq run FACTORY: load PATH.so:SYMBOL with dlopen().
 *
 * The C analogue of PgQueuer's "module:factory".  The library is opened
 * once, before the supervisor loop; the symbol (a PgqFactory) is called
 * with a fresh worker before every start and restart.  pgq is linked with
 * -rdynamic, so the library resolves libpgqueuer's functions from pgq
 * itself.
 *
 * IDENTIFICATION
 *		client/cli/run_factory.c
 *
 *-------------------------------------------------------------------------
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

int
pgq_factory_load(PgqCli *cli, const char *spec, PgqLoadedFactory *factory)
{
	const char *colon = strrchr(spec, ':');
	char	   *path;
	const char *symbol;
	void	   *sym;

	memset(factory, 0, sizeof(*factory));
	if (colon == NULL || colon == spec || colon[1] == '\0')
		return pgq_cli_usage(cli, "invalid FACTORY \"%s\": expected PATH.so:SYMBOL, for example ./libmyjobs.so:setup",
							 spec);
	symbol = colon + 1;

	/* like PgQueuer, which puts the current directory first on the path */
	path = malloc((size_t) (colon - spec) + 3);
	if (path == NULL)
	{
		pgq_cli_error(cli, "out of memory");
		return PGQ_EXIT_FAIL;
	}
	path[0] = '\0';
	if (memchr(spec, '/', (size_t) (colon - spec)) == NULL)
	{
		char	   *bare = strndup(spec, (size_t) (colon - spec));

		if (bare && access(bare, F_OK) == 0)
			strcpy(path, "./");
		free(bare);
	}
	strncat(path, spec, (size_t) (colon - spec));

	dlerror();
	factory->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (factory->handle == NULL)
	{
		const char *msg = dlerror();

		pgq_cli_error(cli, "could not load factory library \"%s\": %s", path,
					  msg ? msg : "unknown error");
		free(path);
		return PGQ_EXIT_FAIL;
	}
	dlerror();
	sym = dlsym(factory->handle, symbol);
	if (sym == NULL)
	{
		const char *msg = dlerror();

		pgq_cli_error(cli, "factory symbol \"%s\" not found in \"%s\"%s%s", symbol, path,
					  msg ? ": " : "", msg ? msg : "");
		dlclose(factory->handle);
		factory->handle = NULL;
		free(path);
		return PGQ_EXIT_FAIL;
	}
	free(path);
	/* POSIX's way to turn dlsym's object pointer into a function pointer */
	*(void **) (&factory->fn) = sym;
	factory->spec = strdup(spec);
	return PGQ_EXIT_OK;
}

void
pgq_factory_unload(PgqLoadedFactory *factory)
{
	if (factory->handle)
		dlclose(factory->handle);
	free(factory->spec);
	memset(factory, 0, sizeof(*factory));
}
