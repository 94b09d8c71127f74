/* dsp/lora.h — LoRA adapters: their SHA-256, checking deployed copies, and
 * loading one into a vLLM server.
 *
 * An adapter is a file or a directory (a PEFT adapter is a directory with
 * adapter_config.json and adapter_model.safetensors). Its SHA-256 is
 *   - for a regular file: the SHA-256 of its bytes (what sha256sum prints);
 *   - for a directory: the SHA-256 over every regular file under it, in the
 *     byte order of their paths relative to the directory ('/'-separated),
 *     each contributing its relative path, a NUL, its size in decimal, a
 *     NUL, then its bytes. Dot files are included; symbolic links and
 *     other non-regular entries are an error (a deployed adapter must be
 *     the bytes that were hashed, not a pointer to them).
 * The same adapter gives the same hash on any machine and file system.
 */
#ifndef DSP_LORA_H
#define DSP_LORA_H

#include "dsp/client.h"
#include "dsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The adapter's SHA-256 (above) as 64 lower-case hex digits and a NUL. */
dsp_status dsp_adapter_sha256(const char *path, char hex[65], dsp_error *err);

/* Re-hashes the adapter at path (joined to base_dir unless absolute or
 * base_dir is NULL or "") and compares with sha256. A missing adapter is
 * DSP_ERR_IO, a changed one DSP_ERR_INVALID, each naming the file and, for
 * a change, both hashes. */
dsp_status dsp_adapter_verify(const char *base_dir, const char *path, const char *sha256, dsp_error *err);

/* Asks the vLLM server of lm (its base URL, or the client's override) to
 * load the adapter at path under name: POST {base}/load_lora_adapter with
 * {"lora_name": name, "lora_path": path}. The server must run with
 * VLLM_ALLOW_RUNTIME_LORA_UPDATING=True. An adapter already loaded under
 * that name is not an error. path is as the server sees it (give an
 * absolute path). */
dsp_status dsp_lora_load(dsp_client *c, const dsp_lm_config *lm, const char *name, const char *path,
                         dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
