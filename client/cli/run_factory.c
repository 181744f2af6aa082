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
 * dlsym() finds variables as well as functions, and calling a variable
 * crashes (or worse, runs whatever bytes it holds when the data is
 * executable).  So the symbol must be an ELF function (STT_FUNC or
 * STT_GNU_IFUNC, from dladdr1()) and lie in an executable segment of a
 * loaded object (dl_iterate_phdr()).  What cannot be checked is the
 * signature: a function must be int SYMBOL(PgqWorker *).
 *
 * IDENTIFICATION
 *		client/cli/run_factory.c
 *
 *-------------------------------------------------------------------------
 */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

/* ExecSearch: an address, and whether a loaded segment holding it is executable */
typedef struct ExecSearch
{
	uintptr_t addr;
	bool	  executable;
} ExecSearch;

/* find_exec_segment: dl_iterate_phdr callback, per loaded object */
static int
find_exec_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
	ExecSearch *search = arg;

	(void) size;
	for (int i = 0; i < info->dlpi_phnum; i++)
	{
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = (uintptr_t) info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && search->addr >= start &&
			search->addr < start + ph->p_memsz)
		{
			search->executable = (ph->p_flags & PF_X) != 0;
			return 1;
		}
	}
	return 0;
}

/*
 * not_a_function
 *		NULL when sym is a function in an executable segment; otherwise
 *		what it is instead, for the error message.
 */
static const char *
not_a_function(void *sym)
{
	Dl_info info;
	const ElfW(Sym) *esym = NULL;
	ExecSearch search = {(uintptr_t) sym, false};

	/* a thread-local variable's address is in this thread's TLS block */
	if (dladdr1(sym, &info, (void **) &esym, RTLD_DL_SYMENT) == 0)
		return "a thread-local variable or other data outside the library's segments, not a function";
	if (esym != NULL && info.dli_saddr == sym)
	{
		switch (ELF64_ST_TYPE(esym->st_info))
		{
			case STT_FUNC:
			case STT_GNU_IFUNC:
				break;
			case STT_OBJECT:
			case STT_COMMON:
				return "a variable (a data object), not a function";
			case STT_TLS:
				return "a thread-local variable, not a function";
			default:
				return "not a function";
		}
	}
	dl_iterate_phdr(find_exec_segment, &search);
	if (!search.executable)
		return "not in an executable segment of the library, so not a function";
	return NULL;
}

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
		char *bare = strndup(spec, (size_t) (colon - spec));

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
	{
		const char *what = not_a_function(sym);

		if (what != NULL)
		{
			pgq_cli_error(cli, "factory symbol \"%s\" in \"%s\" is %s: a factory is int %s(PgqWorker *worker)",
						  symbol, path, what, symbol);
			dlclose(factory->handle);
			factory->handle = NULL;
			free(path);
			return PGQ_EXIT_FAIL;
		}
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
