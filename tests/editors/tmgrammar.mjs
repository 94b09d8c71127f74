// tmgrammar.mjs — loads editors/dsp.tmLanguage.json into vscode-textmate
// (the engine VS Code uses, with its Oniguruma build) and tokenizes text.
// Shared by the tests and by `node tests/editors/tmgrammar.mjs FILE`, which
// prints every token with its scopes (for looking at what an editor shows).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import vsctm from 'vscode-textmate';
import oniguruma from 'vscode-oniguruma';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const grammarPath = path.join(root, 'editors/dsp.tmLanguage.json');

let onigReady = null;
function loadOnig() {
    if (!onigReady) {
        const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
        onigReady = oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    }
    return onigReady;
}

// The Oniguruma scanner, for compiling the grammar's regexes one by one.
export async function onigScanner(patterns) {
    await loadOnig();
    return new oniguruma.OnigScanner(patterns);
}

export async function loadGrammar() {
    await loadOnig();
    const registry = new vsctm.Registry({
        onigLib: Promise.resolve({
            createOnigScanner: (p) => new oniguruma.OnigScanner(p),
            createOnigString: (s) => new oniguruma.OnigString(s),
        }),
        loadGrammar: async (scopeName) => {
            if (scopeName !== 'source.dsp') return null;
            return vsctm.parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath);
        },
    });
    const grammar = await registry.loadGrammar('source.dsp');
    if (!grammar) throw new Error(`${grammarPath}: vscode-textmate did not load the grammar`);
    return grammar;
}

// Tokenizes a whole text. Returns { lines: [{ line, tokens: [{ text, scopes,
// line, col }] }], endState, stoppedEarly }; lines and cols count from 1.
export function tokenize(grammar, text) {
    let state = vsctm.INITIAL;
    const lines = [];
    let stoppedEarly = false;
    const src = text.split(/\r?\n/);
    src.forEach((line, i) => {
        const r = grammar.tokenizeLine(line, state, 1000);
        if (r.stoppedEarly) stoppedEarly = true;
        const tokens = r.tokens.map((t, k) => {
            const end = k + 1 < r.tokens.length ? r.tokens[k + 1].startIndex : line.length;
            return { text: line.slice(t.startIndex, end), scopes: t.scopes, line: i + 1, col: t.startIndex + 1 };
        });
        lines.push({ line, tokens });
        state = r.ruleStack;
    });
    // endState.depth is 1 when every region opened in the text was closed.
    return { lines, endState: state, stoppedEarly };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
    const grammar = await loadGrammar();
    for (const file of process.argv.slice(2)) {
        const { lines } = tokenize(grammar, readFileSync(file, 'utf8'));
        for (const l of lines)
            for (const t of l.tokens)
                if (t.text.trim() !== '')
                    console.log(`${file}:${t.line}:${t.col}\t${JSON.stringify(t.text)}\t${t.scopes.slice(1).join(' ')}`);
    }
}
