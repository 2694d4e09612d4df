/*
 * memcopy.c — memcpy for the static musl build (release only).
 *
 * musl's x86_64 memcpy is "rep movsq" for every size. On the virtual CPUs
 * atsrecon runs on (measured on the 2-core build machine: a KVM guest), that
 * instruction costs about 60 ns to start, whatever it copies; the engine
 * copies short strings (keys, ids, names: 5-40 bytes) millions of times a
 * sweep, and musl's memcpy was 40 % of a 200,000-candidate sweep's CPU
 * (perf, docs/perf-notes.md). The release link redirects every call to
 * memcpy — atsrecon's, LMDB's, curl's, mbedTLS's, musl's own — to
 * __wrap_memcpy (ld's --wrap, Makefile): short copies are done here with
 * unaligned 8- and 16-byte moves; 256 bytes and more go to musl's
 * (__real_memcpy), where "rep movsq" is fast per byte.
 *
 * Built only when the Makefile defines ATSRECON_WRAP_MEMCPY (MODE=release);
 * the glibc builds (ASan, valgrind, fuzz) use glibc's memcpy, which the
 * sanitizers intercept. This file is compiled with -fno-builtin and without
 * loop-to-memcpy rewriting, so it never calls memcpy itself.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef ATSRECON_WRAP_MEMCPY

void *__wrap_memcpy(void *restrict dst, const void *restrict src, size_t n);
void *__real_memcpy(void *restrict dst, const void *restrict src, size_t n);

/* 8 bytes from p, any alignment (one unaligned load: the compiler's builtin
 * with a constant size is inlined, never a call) */
static inline uint64_t
load8(const unsigned char *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, 8);
	return v;
}

static inline void
store8(unsigned char *p, uint64_t v)
{
	__builtin_memcpy(p, &v, 8);
}

void *
__wrap_memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (n >= 256)
		return __real_memcpy(dst, src, n);
	if (n >= 16) {
		/* 16 at a time; the last 16 bytes copied as 16 (may overlap what
		 * the loop wrote: same bytes, and dst and src do not overlap) */
		uint64_t a = load8(s + n - 16), b = load8(s + n - 8);
		while (n > 16) {
			store8(d, load8(s));
			store8(d + 8, load8(s + 8));
			d += 16;
			s += 16;
			n -= 16;
		}
		store8(d + n - 16, a);
		store8(d + n - 8, b);
		return dst;
	}
	if (n >= 8) {
		uint64_t a = load8(s), b = load8(s + n - 8);
		store8(d, a);
		store8(d + n - 8, b);
		return dst;
	}
	if (n >= 4) {
		uint32_t a, b;
		__builtin_memcpy(&a, s, 4);
		__builtin_memcpy(&b, s + n - 4, 4);
		__builtin_memcpy(d, &a, 4);
		__builtin_memcpy(d + n - 4, &b, 4);
		return dst;
	}
	while (n-- > 0)
		*d++ = *s++;
	return dst;
}

#else

/* (ISO C wants a declaration in every translation unit) */
typedef int memcopy_unused;

#endif
