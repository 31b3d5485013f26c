/* Counts malloc/calloc/realloc calls of a process (LD_PRELOAD), for scripts/bench/cpu_profile.py:
 * allocations per bundle. The count goes to $MALLOC_COUNT_FILE (else stderr) at exit. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <unistd.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern int __libc_posix_memalign(void **, size_t, size_t);
static atomic_ulong n;
void *malloc(size_t s) { atomic_fetch_add_explicit(&n, 1, memory_order_relaxed); return __libc_malloc(s); }
void *calloc(size_t a, size_t b) { atomic_fetch_add_explicit(&n, 1, memory_order_relaxed); return __libc_calloc(a, b); }
void *realloc(void *p, size_t s) { atomic_fetch_add_explicit(&n, 1, memory_order_relaxed); return __libc_realloc(p, s); }
__attribute__((destructor)) static void report(void) {
  const char *path = getenv("MALLOC_COUNT_FILE");
  FILE *f = path ? fopen(path, "w") : stderr;
  if (f) { fprintf(f, "%lu\n", atomic_load(&n)); if (path) fclose(f); }
}
