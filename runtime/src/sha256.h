/* sha256.h — internal: SHA-256 for cache keys, as a plain struct.
 *
 * Through libcrypto's direct SHA-256 functions, not EVP: a process's first
 * EVP fetch builds OpenSSL's table of every algorithm's names (about 3
 * million instructions, a sixth of a one-call program's whole start), and
 * every EVP context is a heap object behind a provider. This state is a
 * struct: copying it reuses a prepared start of a key (cache.c) without an
 * allocation. The bytes hashed and the digest are the same either way, and
 * libcrypto still picks the CPU's SHA extensions. */
#ifndef DSP_SHA256_H
#define DSP_SHA256_H

#include <stddef.h>

#include <openssl/sha.h>

typedef SHA256_CTX dsp_sha256;

void dsp_sha256_init(dsp_sha256 *s);
void dsp_sha256_update(dsp_sha256 *s, const void *data, size_t n);
/* The 32-byte digest; s is spent. */
void dsp_sha256_final(dsp_sha256 *s, unsigned char out[32]);

#endif
