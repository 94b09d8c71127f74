/* stub_script.h — an OpenAI-compatible stub LM on 127.0.0.1 that answers
 * each request with the next reply of a script (for tests of loops over LM
 * calls: react, sampling). A reply "HTTP500" answers with a server error;
 * a reply "BODY:{...}" is the whole body as it is (a reply of another shape:
 * tool calls, Anthropic's);
 * past the end of the script every request gets one. Request bodies are
 * kept for checks. */
#ifndef TESTS_STUB_SCRIPT_H
#define TESTS_STUB_SCRIPT_H

#include <stddef.h>

#include "dsp/client.h"

#define STUB_SCRIPT_KEEP 16

/* Starts the stub (once per test program); its port, or 0 on failure. */
unsigned stub_script_start(void);
void stub_script_stop(void);
/* cmocka group setup and teardown: start (unsetting DSPCC_BASE_URL) and stop. */
int stub_script_setup(void **state);
int stub_script_teardown(void **state);
/* An uncached client with no retries and max_in_flight 1 (so a loop's
 * requests, sampling's too, come in the loop's order), and lm pointed at
 * the stub ("openai/stub"); lm must outlive the calls. */
dsp_client *stub_script_client(dsp_lm_config *lm);

/* Replaces the script (borrowed) and forgets earlier requests. */
void stub_script_play(const char *const *replies, size_t n);
/* Requests answered since the last play. */
size_t stub_script_requests(void);
/* The body of request i (0-based, i < STUB_SCRIPT_KEEP), or "". */
const char *stub_script_body(size_t i);

#endif
