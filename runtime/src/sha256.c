/* sha256.c — SHA-256 for cache keys (see sha256.h). */
#include "sha256.h"

/* OpenSSL 3 deprecates these functions in favour of EVP, whose cost at the
 * first use and per digest is what this file avoids; they are still part
 * of its API (and of every OpenSSL 3 Debian ships). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

void dsp_sha256_init(dsp_sha256 *s)
{
    SHA256_Init(s);
}

void dsp_sha256_update(dsp_sha256 *s, const void *data, size_t n)
{
    SHA256_Update(s, data, n);
}

void dsp_sha256_final(dsp_sha256 *s, unsigned char out[32])
{
    SHA256_Final(out, s);
}

#pragma GCC diagnostic pop
