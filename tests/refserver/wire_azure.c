/* wire_azure.c — Azure OpenAI's data-plane paths. The body and reply are
 * OpenAI's chat completions (wire_openai.c); what differs is the address,
 * POST {endpoint}/openai/deployments/{deployment}/chat/completions
 * ?api-version=V, and the key, which comes in an `api-key` header (or a
 * Microsoft Entra ID bearer token). */
#include "wire.h"

#include <string.h>

bool rs_azure_route(const char *url)
{
    const char *d = strstr(url, "/openai/deployments/");
    if (!d)
        return false;
    d += strlen("/openai/deployments/");
    const char *slash = strchr(d, '/');
    /* One non-empty deployment segment, then exactly /chat/completions. */
    return slash && slash > d && strcmp(slash, "/chat/completions") == 0;
}
