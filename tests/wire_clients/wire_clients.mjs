// wire_clients.mjs PORT — the providers' official clients against the
// fixture (build/dsp-refserver, a test fixture, not a model): each sends a
// request in its wire format and must parse the reply and the error.
// Streams (OpenAI's chat.completion.chunk events with include_usage, the
// same through Azure, Anthropic's message_start ... message_stop events,
// Gemini's streamGenerateContent?alt=sse, Bedrock's ConverseStream in AWS's
// binary event-stream encoding) must parse too, into the text and usage of
// the same request's plain reply.
// Prints TAP lines ("ok - ..." / "not ok - ...").
import OpenAI, { AzureOpenAI } from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
// The fixture speaks HTTP/1.1; the client's default handler is HTTP/2 (for
// its event streams), so Converse goes through the HTTP/1.1 one.
import { NodeHttpHandler } from '@smithy/node-http-handler';

const base = `http://127.0.0.1:${process.argv[2]}`;
// A second fixture that fails every chat request (--fail-kinds 503): its
// Bedrock streams end in a serviceUnavailableException message.
const failing = process.argv[3] ? `http://127.0.0.1:${process.argv[3]}` : null;
let failed = 0;
async function check(name, fn) {
    try {
        const why = await fn();
        if (why === true) console.log(`ok - ${name}`);
        else { failed++; console.log(`not ok - ${name}\n#   ${why}`); }
    } catch (e) {
        failed++;
        console.log(`not ok - ${name}\n#   ${String(e && e.stack || e).split('\n').slice(0, 3).join('\n#   ')}`);
    }
}
const ask = 'Say hello.';

await check('openai AzureOpenAI: chat.completions at /openai/deployments/D?api-version=...', async () => {
    const c = new AzureOpenAI({ endpoint: base, apiKey: 'azure-wire-not-a-key', apiVersion: '2024-10-21',
                                deployment: 'fixture', maxRetries: 0 });
    const r = await c.chat.completions.create({ model: 'fixture', messages: [{ role: 'user', content: ask }] });
    return typeof r.choices[0].message.content === 'string' && r.usage.prompt_tokens > 0 || JSON.stringify(r);
});

// Native tool calling: the fixture answers a request with function tools
// with a tool call (message.tool_calls, finish_reason "tool_calls") the
// client reads, and takes the result back as a `tool` message.
await check('openai: chat.completions with tools gets tool_calls, and a tool message answers them', async () => {
    const c = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wire-not-a-key', maxRetries: 0 });
    const tools = [
        { type: 'function', function: { name: 'search', description: 'Finds passages about novels.',
          parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } } },
        { type: 'function', function: { name: 'finish', description: 'Ends the task.',
          parameters: { type: 'object', properties: {} } } }];
    const messages = [{ role: 'system', content: 'Answer the question about a novel.' },
                      { role: 'user', content: '[[ ## question ## ]]\nWho wrote Dune?' }];
    const r = await c.chat.completions.create({ model: 'fixture', messages, tools, parallel_tool_calls: false });
    const m = r.choices[0].message, call = m.tool_calls && m.tool_calls[0];
    if (r.choices[0].finish_reason !== 'tool_calls' || !call || call.type !== 'function' || !/^call_/.test(call.id) ||
        call.function.name !== 'search' || typeof JSON.parse(call.function.arguments).query !== 'string')
        return JSON.stringify(r);
    messages.push(m, { role: 'tool', tool_call_id: call.id, content: 'Dune is a 1965 novel by Frank Herbert.' });
    const r2 = await c.chat.completions.create({ model: 'fixture', messages, tools });
    const c2 = r2.choices[0].message.tool_calls;
    return (c2 && c2.length === 1 && c2[0].function.name === 'finish' && c2[0].id !== call.id) || JSON.stringify(r2);
});

// A stream's pieces joined, its usage, and the plain reply to compare.
async function openaiStream(c, model) {
    const req = { model, messages: [{ role: 'user', content: ask }], temperature: 0 };
    const plain = await c.chat.completions.create(req);
    const stream = await c.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
    let text = '', chunks = 0, usage = null, finish = null;
    for await (const chunk of stream) {
        chunks++;
        if (chunk.object !== 'chat.completion.chunk') return `a chunk of object ${chunk.object}`;
        if (chunk.choices.length) {
            text += chunk.choices[0].delta.content || '';
            finish = chunk.choices[0].finish_reason || finish;
        }
        if (chunk.usage) usage = chunk.usage;
    }
    return (text === plain.choices[0].message.content && chunks > 3 && finish === 'stop' && usage &&
            usage.prompt_tokens === plain.usage.prompt_tokens &&
            usage.completion_tokens === plain.usage.completion_tokens) ||
           `${chunks} chunks, ${JSON.stringify(text)} vs ${JSON.stringify(plain.choices[0].message.content)}, ` +
           `usage ${JSON.stringify(usage)}`;
}

await check('openai: a chat.completions stream with include_usage equals the plain reply', async () => {
    const c = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'openai-wire-not-a-key', maxRetries: 0 });
    return openaiStream(c, 'fixture');
});

await check('openai AzureOpenAI: the same stream from a deployment', async () => {
    const c = new AzureOpenAI({ endpoint: base, apiKey: 'azure-wire-not-a-key', apiVersion: '2024-10-21',
                                deployment: 'fixture', maxRetries: 0 });
    return openaiStream(c, 'fixture');
});

await check('openai: the stream helper (chat.completions.stream) assembles the final message', async () => {
    const c = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'openai-wire-not-a-key', maxRetries: 0 });
    const req = { model: 'fixture', messages: [{ role: 'user', content: ask }], temperature: 0 };
    const plain = await c.chat.completions.create(req);
    const final = await c.chat.completions.stream(req).finalChatCompletion();
    return final.choices[0].message.content === plain.choices[0].message.content ||
           JSON.stringify(final.choices[0].message);
});

const anthropic = () => new Anthropic({ baseURL: base, apiKey: 'anthropic-wire-not-a-key', maxRetries: 0 });

await check('@anthropic-ai/sdk: messages.create, text and usage', async () => {
    const r = await anthropic().messages.create({ model: 'fixture', max_tokens: 256, system: 'Be terse.',
                                                  messages: [{ role: 'user', content: ask }] });
    return (r.type === 'message' && r.content[0].type === 'text' && r.content[0].text.length > 0 &&
            r.usage.input_tokens > 0 && r.stop_reason === 'end_turn') || JSON.stringify(r);
});

await check('@anthropic-ai/sdk: a message stream (raw events) equals the plain reply', async () => {
    const req = { model: 'fixture', max_tokens: 256, messages: [{ role: 'user', content: ask }], temperature: 0 };
    const plain = await anthropic().messages.create(req);
    const stream = await anthropic().messages.create({ ...req, stream: true });
    let text = '', types = [], usage = null, input = 0;
    for await (const ev of stream) {
        types.push(ev.type);
        if (ev.type === 'message_start') input = ev.message.usage.input_tokens;
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
        if (ev.type === 'message_delta') usage = ev.usage;
    }
    return (text === plain.content[0].text && types[0] === 'message_start' && types.at(-1) === 'message_stop' &&
            types.filter((t) => t === 'content_block_delta').length > 1 && input === plain.usage.input_tokens &&
            usage.output_tokens === plain.usage.output_tokens) ||
           `${types.join(',')}: ${JSON.stringify(text)} vs ${JSON.stringify(plain.content[0].text)}`;
});

await check("@anthropic-ai/sdk: messages.stream's finalMessage of a forced tool equals the plain tool_use", async () => {
    const req = { model: 'fixture', max_tokens: 256, messages: [{ role: 'user', content: ask }],
                  tools: [{ name: 'output', input_schema: { type: 'object', properties: { answer: { type: 'string' } },
                                                            required: ['answer'] } }],
                  tool_choice: { type: 'tool', name: 'output' } };
    const plain = await anthropic().messages.create(req);
    const final = await anthropic().messages.stream(req).finalMessage();
    return (final.content[0].type === 'tool_use' &&
            JSON.stringify(final.content[0].input) === JSON.stringify(plain.content[0].input) &&
            final.stop_reason === 'tool_use') || JSON.stringify(final.content);
});

// Native tool calling: tools the model may choose among get a text block
// (the thought) and a tool_use block; the result goes back as a
// tool_result block in a user turn.
await check('@anthropic-ai/sdk: tools get a tool_use block, and a tool_result answers it', async () => {
    const tools = [{ name: 'search', description: 'Finds passages about novels.',
                     input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
                   { name: 'finish', description: 'Ends the task.', input_schema: { type: 'object', properties: {} } }];
    const messages = [{ role: 'user', content: '[[ ## question ## ]]\nWho wrote Dune?' }];
    const req = { model: 'fixture', max_tokens: 256, system: 'Answer the question about a novel.', tools,
                  tool_choice: { type: 'auto', disable_parallel_tool_use: true } };
    const r = await anthropic().messages.create({ ...req, messages });
    const use = r.content.find((b) => b.type === 'tool_use');
    if (r.stop_reason !== 'tool_use' || !use || !/^toolu_/.test(use.id) || use.name !== 'search' ||
        typeof use.input.query !== 'string')
        return JSON.stringify(r);
    messages.push({ role: 'assistant', content: r.content },
                  { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id,
                                              content: 'Dune is a 1965 novel by Frank Herbert.' }] });
    const r2 = await anthropic().messages.create({ ...req, messages });
    const use2 = r2.content.find((b) => b.type === 'tool_use');
    return (use2 && use2.name === 'finish' && use2.id !== use.id) || JSON.stringify(r2);
});

await check("@anthropic-ai/sdk: an error is Anthropic's (NotFoundError, 404)", async () => {
    try {
        await anthropic().messages.create({ model: 'ft:missing', max_tokens: 16, messages: [{ role: 'user', content: ask }] });
        return 'no error';
    } catch (e) {
        return (e.status === 404 && /does not exist/.test(e.message)) || `${e.status} ${e.message}`;
    }
});

await check('@google/genai: models.generateContentStream equals generateContent', async () => {
    const g = new GoogleGenAI({ apiKey: 'gem-wire-not-a-key', httpOptions: { baseUrl: base } });
    const req = { model: 'fixture', contents: ask, config: { systemInstruction: 'Be terse.', temperature: 0 } };
    const plain = await g.models.generateContent(req);
    let text = '', chunks = 0, last = null;
    for await (const chunk of await g.models.generateContentStream(req)) {
        chunks++;
        text += chunk.text || '';
        last = chunk;
    }
    return (text === plain.text && chunks > 1 && last.candidates[0].finishReason === 'STOP' &&
            last.usageMetadata.promptTokenCount === plain.usageMetadata.promptTokenCount) ||
           `${chunks} chunks, ${JSON.stringify(text)} vs ${JSON.stringify(plain.text)}`;
});

await check('openai OpenAI: embeddings.create (base64 by default, and float), data[].embedding and usage', async () => {
    const c = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'emb-wire-not-a-key', maxRetries: 0 });
    const input = ['refund my order', 'change my address'];
    const r = await c.embeddings.create({ model: 'fixture-embed', input, dimensions: 8 });
    const f = await c.embeddings.create({ model: 'fixture-embed', input, dimensions: 8, encoding_format: 'float' });
    const same = r.data.every((d, i) => d.embedding.every((x, j) => Math.fround(x) === Math.fround(f.data[i].embedding[j])));
    return (r.data.length === 2 && r.data[1].index === 1 && r.data[0].embedding.length === 8 && same &&
            r.usage.prompt_tokens > 0 && r.usage.total_tokens === r.usage.prompt_tokens) || JSON.stringify([r, f]);
});

await check('@google/genai: models.generateContent, text and usageMetadata', async () => {
    const g = new GoogleGenAI({ apiKey: 'gem-wire-not-a-key', httpOptions: { baseUrl: base } });
    const r = await g.models.generateContent({ model: 'fixture', contents: ask,
                                               config: { systemInstruction: 'Be terse.', temperature: 0 } });
    return (typeof r.text === 'string' && r.text.length > 0 && r.usageMetadata.promptTokenCount > 0) ||
           JSON.stringify(r);
});

await check('@google/genai: responseSchema with application/json', async () => {
    const g = new GoogleGenAI({ apiKey: 'gem-wire-not-a-key', httpOptions: { baseUrl: base } });
    const r = await g.models.generateContent({ model: 'fixture', contents: ask, config: {
        responseMimeType: 'application/json',
        responseSchema: { type: 'OBJECT', properties: { answer: { type: 'STRING' } }, required: ['answer'] } } });
    return typeof JSON.parse(r.text) === 'object' || r.text;
});

await check("@google/genai: an error is Gemini's (ApiError with status 404)", async () => {
    const g = new GoogleGenAI({ apiKey: 'gem-wire-not-a-key', httpOptions: { baseUrl: base } });
    try {
        await g.models.generateContent({ model: 'ft:missing', contents: ask });
        return 'no error';
    } catch (e) {
        return (e.status === 404 && /does not exist/.test(e.message)) || `${e.status} ${e.message}`;
    }
});

const bedrock = (endpoint = base) => new BedrockRuntimeClient({ region: 'eu-west-3', endpoint, maxAttempts: 1, requestHandler: new NodeHttpHandler(),
    credentials: { accessKeyId: 'AKIDWIREEXAMPLE', secretAccessKey: 'wire-secret-not-real', sessionToken: 'wire-token' } });

await check('@aws-sdk/client-bedrock-runtime: Converse, signed with SigV4 (the fixture checks its form)', async () => {
    const r = await bedrock().send(new ConverseCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
        system: [{ text: 'Be terse.' }], messages: [{ role: 'user', content: [{ text: ask }] }],
        inferenceConfig: { maxTokens: 64, temperature: 0 } }));
    return (typeof r.output.message.content[0].text === 'string' && r.usage.inputTokens > 0 &&
            r.stopReason === 'end_turn') ||
           JSON.stringify(r);
});

await check('@aws-sdk/client-bedrock-runtime: a forced tool answers with toolUse', async () => {
    const r = await bedrock().send(new ConverseCommand({ modelId: 'fixture',
        messages: [{ role: 'user', content: [{ text: ask }] }],
        toolConfig: { tools: [{ toolSpec: { name: 'output', inputSchema: { json: { type: 'object',
            properties: { answer: { type: 'string' } }, required: ['answer'] } } } }],
                      toolChoice: { tool: { name: 'output' } } } }));
    const tu = r.output.message.content.find((b) => b.toolUse);
    return (tu && typeof tu.toolUse.input === 'object' && r.stopReason === 'tool_use') || JSON.stringify(r.output);
});

await check("@aws-sdk/client-bedrock-runtime: an error carries AWS's message", async () => {
    try {
        await bedrock().send(new ConverseCommand({ modelId: 'ft:missing',
            messages: [{ role: 'user', content: [{ text: ask }] }] }));
        return 'no error';
    } catch (e) {
        return (e.$metadata.httpStatusCode === 404 && /does not exist/.test(e.message)) ||
               `${e.$metadata && e.$metadata.httpStatusCode} ${e.message}`;
    }
});
// ConverseStream: the SDK checks every message's prelude and message CRC32
// and reads the events into the plain reply's text, stop reason and usage.
const streamed = async (input, endpoint) => {
    const r = await bedrock(endpoint).send(new ConverseStreamCommand(input));
    const out = { text: '', tool: '', toolName: null, deltas: 0, stopReason: null, usage: null, order: [] };
    for await (const ev of r.stream) {
        const kind = Object.keys(ev)[0];
        out.order.push(kind);
        if (ev.contentBlockStart && ev.contentBlockStart.start.toolUse) out.toolName = ev.contentBlockStart.start.toolUse.name;
        if (ev.contentBlockDelta) {
            out.deltas++;
            const d = ev.contentBlockDelta.delta;
            if (d.text !== undefined) out.text += d.text;
            if (d.toolUse) out.tool += d.toolUse.input;
        }
        if (ev.messageStop) out.stopReason = ev.messageStop.stopReason;
        if (ev.metadata) out.usage = ev.metadata.usage;
    }
    return out;
};
const converse = { modelId: 'anthropic.claude-3-haiku-20240307-v1:0', system: [{ text: 'Be terse.' }],
    messages: [{ role: 'user', content: [{ text: 'Write two sentences about the sea and the wind over it.' }] }],
    inferenceConfig: { maxTokens: 200, temperature: 0 } };

await check('@aws-sdk/client-bedrock-runtime: ConverseStream events carry the plain reply (text, stopReason, usage)', async () => {
    const plain = await bedrock().send(new ConverseCommand(converse));
    const s = await streamed(converse);
    const want = plain.output.message.content[0].text;
    const order = s.order.join(',');
    return (s.text === want && s.deltas > 1 && s.stopReason === plain.stopReason &&
            s.usage.inputTokens === plain.usage.inputTokens && s.usage.outputTokens === plain.usage.outputTokens &&
            /^messageStart,(contentBlockDelta,)+contentBlockStop,messageStop,metadata$/.test(order)) ||
           JSON.stringify({ want, s });
});

await check('@aws-sdk/client-bedrock-runtime: ConverseStream with a forced tool streams its input as toolUse pieces', async () => {
    const input = { modelId: 'fixture', messages: [{ role: 'user', content: [{ text: ask }] }],
        toolConfig: { tools: [{ toolSpec: { name: 'output', inputSchema: { json: { type: 'object',
            properties: { answer: { type: 'string' } }, required: ['answer'] } } } }],
                      toolChoice: { tool: { name: 'output' } } } };
    const plain = await bedrock().send(new ConverseCommand(input));
    const tu = plain.output.message.content.find((b) => b.toolUse);
    const s = await streamed(input);
    return (s.toolName === 'output' && JSON.stringify(JSON.parse(s.tool)) === JSON.stringify(tu.toolUse.input) &&
            s.stopReason === 'tool_use') || JSON.stringify({ plain: tu, s });
});

await check('@aws-sdk/client-bedrock-runtime: a ConverseStream error before the stream is an HTTP error with the message', async () => {
    try {
        await streamed({ ...converse, modelId: 'ft:missing' });
        return 'no error';
    } catch (e) {
        return (e.$metadata.httpStatusCode === 404 && /does not exist/.test(e.message)) ||
               `${e.$metadata && e.$metadata.httpStatusCode} ${e.message}`;
    }
});

if (failing) {
    await check('@aws-sdk/client-bedrock-runtime: a ConverseStream failing part way throws its exception message', async () => {
        try {
            const s = await streamed(converse, failing);
            return `no error: ${JSON.stringify(s)}`;
        } catch (e) {
            return (e.name === 'ServiceUnavailableException' && /injected by dsp-refserver/.test(e.message)) ||
                   `${e.name} ${e.message}`;
        }
    });
}
process.exit(failed ? 1 : 0);
