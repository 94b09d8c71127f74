// keywords.mjs — the reserved words of .dsp, read from grammar/lexer.l (the
// source of truth): every rule of the form  "word"  { return TOKEN; }.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function lexerKeywords(lexerPath = path.join(root, 'grammar/lexer.l')) {
    const words = [];
    for (const line of readFileSync(lexerPath, 'utf8').split('\n')) {
        const m = /^"([A-Za-z_][A-Za-z0-9_]*)"\s+\{\s*return\s+[A-Z_]+\s*;\s*\}/.exec(line);
        if (m) words.push(m[1]);
    }
    return words;
}

// The optimizers an `optimize` block may name, read from stdlib/optimizers.c
// (the registry sema checks against): every entry that opens with its name
// on a line of its own,  { "mipro",
export function stdlibOptimizers(registryPath = path.join(root, 'stdlib/optimizers.c')) {
    const names = [];
    for (const line of readFileSync(registryPath, 'utf8').split('\n')) {
        const m = /^    \{ "([a-z_]+)",\s*$/.exec(line);
        if (m) names.push(m[1]);
    }
    return names;
}
