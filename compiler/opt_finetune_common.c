/* opt_finetune_common.c — what the two weight steps share (a provider's
 * fine-tuning job, opt_finetune_job.c; a local trainer,
 * opt_finetune_local.c): progress lines and the SHA-256 key of a run. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>

#include "opt_finetune.h"

void opt_ft_say(void (*progress)(void *ctx, const char *msg), void *ctx, const char *fmt, ...)
{
    if (!progress)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    progress(ctx, msg);
}

int opt_ft_key(const char *head, int head_len, const char *data, size_t len, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    int ok = ctx && head_len > 0 && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, head, (size_t)head_len) == 1 && EVP_DigestUpdate(ctx, data, len) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &mlen) == 1 && mlen == 32;
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; ok && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return ok;
}
