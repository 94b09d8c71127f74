/* strategies.c — predictor strategies a module can call over a signature. */
#include "builtins.h"

#include <string.h>

const bi_strategy bi_strategies[] = {
    { "predict", 0, "ask the LM for the signature's outputs directly" },
    { "chain_of_thought", 1, "ask for a step-by-step `reasoning` before the outputs" },
    { "best_of_n", 0, "n samples, the first whose reward (a C tool) reaches the threshold, else the best "
                      "(options: n, reward, threshold, reasoning)" },
    { "refine", 0, "like best_of_n, and each attempt after one that falls short is told its reward and answer "
                   "(options: n, reward, threshold, reasoning)" },
    { "majority", 0, "n samples, the most common value of one output wins (options: n, field, reasoning)" },
    { "multi_chain_comparison", 0, "m reasoning attempts, then one call that compares them and answers (option: m)" },
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
