/* ft_lora.h — LoRA adapters the fixture serves, as vLLM and llama.cpp's
 * server do.
 *
 * An adapter is what tests/refserver/tiny_trainer.sh (a FIXTURE trainer)
 * writes: a directory with adapter_config.json and adapter_memory.jsonl,
 * the training examples in OpenAI's chat fine-tuning format (a path to the
 * .jsonl itself works too). Served, it makes the fixture recall those
 * examples as demos (ft_memory.h), what fine-tuning does in this fixture's
 * terms. Adapters are numbered in the order loaded, from 0: `--lora
 * NAME=PATH` at start-up first, then POST /v1/load_lora_adapter. A request
 * selects one by its name as the model (vLLM) or by `"lora": [{"id": N,
 * "scale": S}]` with S > 0 (llama.cpp). Adapters are never unloaded, so
 * pointers stay valid; all functions are thread-safe.
 */
#ifndef RS_FT_LORA_H
#define RS_FT_LORA_H

#include <stddef.h>

#include "ft_memory.h"

typedef struct rs_lora_set rs_lora_set;

rs_lora_set *rs_lora_set_new(void);
void rs_lora_set_free(rs_lora_set *s);

typedef enum rs_lora_rc { RS_LORA_OK, RS_LORA_EXISTS, RS_LORA_BAD } rs_lora_rc;

/* Reads the adapter at path and serves it as name. RS_LORA_BAD: msg (in
 * a) says why (missing file, bad JSONL, too many adapters). */
rs_lora_rc rs_lora_load(rs_lora_set *s, const char *name, const char *path, rs_arena *a, const char **msg);

/* The memory of the adapter served as name, or of adapter id; NULL: none. */
const rs_ft_memory *rs_lora_by_name(rs_lora_set *s, const char *name);
const rs_ft_memory *rs_lora_by_id(rs_lora_set *s, long id);

#endif
