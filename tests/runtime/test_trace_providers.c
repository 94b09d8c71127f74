/* test_trace_providers.c — a traced LM call names its provider with
 * OpenTelemetry's well-known gen_ai.provider.name value (and gen_ai.system,
 * its older name): azure.ai.openai, gcp.gemini, aws.bedrock, openai,
 * anthropic, mistral_ai; a provider with none keeps its prefix (ollama).
 * Against build/dsp-refserver (a test fixture); skips when not built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/client.h"

#include "../support/refserver_proc.h"

static void test_each_provider_has_its_opentelemetry_name(void **state)
{
    (void)state;
    char bin[512];
    if (!rs_proc_binary(bin, sizeof bin)) {
        print_message("%s not built: skipped\n", bin);
        skip();
    }
    rs_proc s;
    assert_true(rs_proc_start(&s, NULL));
    char base[64], trace[] = "/tmp/dsp-trace-providers-XXXXXX";
    snprintf(base, sizeof base, "http://127.0.0.1:%u", s.port);
    int fd = mkstemp(trace);
    assert_true(fd >= 0);
    close(fd);
    static const struct {
        const char *model, *name;
    } cases[] = {
        {"azure/d", "azure.ai.openai"}, {"gemini/gemini-2.0-flash", "gcp.gemini"},
        {"bedrock/anthropic.claude-3-haiku-20240307-v1:0", "aws.bedrock"}, {"openai/gpt-4o-mini", "openai"},
        {"anthropic/claude-3-5-haiku-latest", "anthropic"}, {"mistral/mistral-small-latest", "mistral_ai"},
        {"ollama/llama3.1:8b", "ollama"},
    };
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 0;
    o.trace_path = trace;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    dsp_message m = {.role = DSP_ROLE_USER, .content = (char *)"Say hello."};
    setenv("MISTRAL_API_KEY", "x", 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsp_lm_config lm;
        memset(&lm, 0, sizeof lm);
        lm.model = cases[i].model;
        lm.base_url = base;
        lm.params = dsp_lm_params_default();
        const dsp_provider_info *pi = dsp_provider_find(cases[i].model, strcspn(cases[i].model, "/"));
        lm.api_key_env = pi ? pi->api_key_env : NULL;
        dsp_chat_request r;
        memset(&r, 0, sizeof r);
        r.messages = &m;
        r.n_messages = 1;
        r.params = dsp_lm_params_default();
        dsp_chat_response resp;
        if (dsp_chat(c, &lm, &r, &resp, &err) != DSP_OK)
            fail_msg("%s: %s", cases[i].model, err.message);
        dsp_chat_response_free(&resp);
    }
    dsp_client_free(c);
    rs_proc_stop(&s, 10000, NULL);
    FILE *f = fopen(trace, "r");
    assert_non_null(f);
    char line[8192];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < sizeof cases / sizeof cases[0]) {
        char want[160];
        snprintf(want, sizeof want, "\"gen_ai.provider.name\":\"%s\"", cases[n].name);
        if (!strstr(line, want))
            fail_msg("%s: no %s in %s", cases[n].model, want, line);
        snprintf(want, sizeof want, "\"gen_ai.system\":\"%s\"", cases[n].name);
        assert_non_null(strstr(line, want));
        n++;
    }
    fclose(f);
    unlink(trace);
    assert_int_equal(n, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_provider_has_its_opentelemetry_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
