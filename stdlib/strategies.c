/* strategies.c — predictor strategies a module can call over a signature. */
#include "builtins.h"

#include <string.h>

const bi_strategy bi_strategies[] = {
    { "predict", 0, "ask the LM for the signature's outputs directly" },
    { "chain_of_thought", 1, "ask for a step-by-step `reasoning` before the outputs" },
    { "react", 0, "an agent: the LM picks C tools and their arguments step by step, then the outputs are "
                  "extracted from the trajectory (options: tools, max_iters, max_observation)" },
};
const size_t bi_n_strategies = sizeof bi_strategies / sizeof bi_strategies[0];

const bi_strategy *bi_strategy_find(const char *name)
{
    for (size_t i = 0; i < bi_n_strategies; i++)
        if (strcmp(bi_strategies[i].name, name) == 0)
            return &bi_strategies[i];
    return NULL;
}
