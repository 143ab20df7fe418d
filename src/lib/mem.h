/*
 * mem: allocation for the control plane. Every function aborts on out-of-memory (bgpd's
 * fatal(NULL)): configuration, peers and admin state are small and a daemon that cannot
 * allocate them cannot do anything useful. The data plane never calls these (STYLE.md §10);
 * it uses the pkt pool.
 */
#ifndef YGG64_LIB_MEM_H
#define YGG64_LIB_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
/* Grows an array of nmemb elements of size bytes, checking the multiplication. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Overwrites n bytes in a way the compiler may not elide (for buffers that held key hex). */
void mem_wipe(void *p, size_t n);

#endif
