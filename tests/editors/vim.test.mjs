// vim.test.mjs — the Vim syntax and file type detection (editors/vim/),
// run in a real Vim: the syntax group of every byte of fixture.dsp and of
// the examples is read back with synID() (tests/editors/vim_dump.vim), and
// keywords, types, strings, numbers and comments must land in the expected
// groups. Vim is part of the machine image; without it this fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lexerKeywords } from './keywords.mjs';
import { root } from './tmgrammar.mjs';

const keywords = lexerKeywords();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dsp-vim-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// Opens file in Vim with only editors/vim on the runtime path (no user
// configuration) and returns { filetype, lines, rows }: rows[i][j] is the
// syntax group of byte j of line i (both from 0).
function vimGroups(file) {
    const out = path.join(tmp, `out-${path.basename(file)}.txt`);
    const r = spawnSync('vim', ['-N', '-n', '-u', 'NONE', '-i', 'NONE', '-es',
        '--cmd', `set rtp^=${path.join(root, 'editors/vim')}`, '--cmd', 'filetype on', '--cmd', 'syntax on',
        '-c', `let g:dsp_out = ${JSON.stringify(out)}`, '-c', `source ${path.join(root, 'tests/editors/vim_dump.vim')}`,
        file], { encoding: 'utf8', timeout: 20000 });
    assert.ok(!r.error, `cannot run vim: ${r.error && r.error.message}; install it (Debian package vim)`);
    assert.equal(r.status, 0, `vim exited with ${r.status}: ${r.stderr}`);
    const [filetype, ...json] = readFileSync(out, 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');
    return { filetype, lines: readFileSync(file, 'utf8').split('\n'), rows: json.map((j) => JSON.parse(j)) };
}

// The group at the nth occurrence of text on 1-based line `line` (whole
// words only when text is a word).
function groupAt(v, line, text, nth = 0) {
    const src = v.lines[line - 1];
    const word = /^\w+$/.test(text);
    const re = new RegExp((word ? '\\b' : '') + text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + (word ? '\\b' : ''), 'g');
    const hits = [...src.matchAll(re)];
    assert.ok(hits.length > nth, `line ${line}: no ${JSON.stringify(text)} (#${nth}) in ${JSON.stringify(src)}`);
    return v.rows[line - 1][hits[nth].index];
}

const fixture = vimGroups(path.join(root, 'tests/editors/fixture.dsp'));
function expectGroup(line, text, group, nth = 0) {
    assert.equal(groupAt(fixture, line, text, nth), group, `fixture.dsp:${line}: ${JSON.stringify(text)}`);
}

// Every reserved word outside comments and strings has a group.
function plainKeywords(v, name) {
    const bad = [];
    v.lines.forEach((src, i) => {
        for (const m of src.matchAll(/\b[A-Za-z_]\w*\b/g)) {
            const g = v.rows[i][m.index];
            if (keywords.includes(m[0]) && g === '') bad.push(`${name}:${i + 1}:${m.index + 1}: ${m[0]}`);
        }
    });
    return bad;
}

test('vim: .dsp files of dspcc get filetype dsp; other .dsp files do not', () => {
    assert.equal(fixture.filetype, 'dsp');
    const faust = path.join(tmp, 'faust.dsp');
    writeFileSync(faust, 'import("stdfaust.lib");\nprocess = no.noise;\n');
    assert.notEqual(vimGroups(faust).filetype, 'dsp');
    const later = path.join(tmp, 'later.dsp');
    writeFileSync(later, '// a program\n\n' + 'module M(a: string) -> (b: string) {\n  return (b: a)\n}\n');
    assert.equal(vimGroups(later).filetype, 'dsp');
});

test('vim: every keyword of the lexer is highlighted in fixture.dsp and the examples', () => {
    assert.deepEqual(plainKeywords(fixture, 'fixture.dsp'), []);
    const seen = new Set();
    fixture.lines.forEach((src, i) => {
        for (const m of src.matchAll(/\b[A-Za-z_]\w*\b/g))
            if (keywords.includes(m[0]) && !/Comment|String/.test(fixture.rows[i][m.index])) seen.add(m[0]);
    });
    assert.deepEqual(keywords.filter((k) => !seen.has(k)), []);
    const dir = path.join(root, 'examples');
    let n = 0;
    for (const d of readdirSync(dir))
        for (const f of readdirSync(path.join(dir, d)).filter((x) => x.endsWith('.dsp'))) {
            const v = vimGroups(path.join(dir, d, f));
            assert.equal(v.filetype, 'dsp', `${d}/${f}`);
            assert.deepEqual(plainKeywords(v, `${d}/${f}`), []);
            const errors = v.rows.flatMap((r, i) => r.map((g, j) => [g, i, j])).filter(([g]) => /Error|BadEscape/.test(g));
            assert.deepEqual(errors.map(([g, i, j]) => `${d}/${f}:${i + 1}:${j + 1}: ${g}`), []);
            n++;
        }
    assert.ok(n >= 3, `only ${n} examples`);
});

test('vim: comments, strings, escapes, numbers', () => {
    expectGroup(1, '//', 'dspLineComment');
    expectGroup(5, '/*', 'dspBlockComment');
    expectGroup(6, 'module', 'dspBlockComment');
    expectGroup(3, 'shared', 'dspString');
    expectGroup(12, '\\"', 'dspEscape');
    expectGroup(12, '\\n', 'dspEscape');
    expectGroup(12, 'Joined', 'dspString');
    expectGroup(7, '0.7', 'dspFloat');
    expectGroup(7, '512', 'dspInteger');
    expectGroup(8, '-', 'dspOperator');
    expectGroup(41, '1e3', 'dspFloat');
    expectGroup(41, '2.5e-1', 'dspFloat');
    expectGroup(41, '/', 'dspOperator');
    const bad = path.join(tmp, 'bad.dsp');
    writeFileSync(bad, 'signature S "a\\qb" { out x: int }\nenum E { a; b }\n');
    const v = vimGroups(bad);
    assert.equal(groupAt(v, 1, '\\q'), 'dspBadEscape');
    assert.equal(groupAt(v, 2, ';'), 'dspError');
});

test('vim: declarations, fields, types, statements, metrics, options', () => {
    expectGroup(3, 'import', 'dspInclude');
    expectGroup(7, 'lm', 'dspDeclaration');
    expectGroup(7, 'teacher', 'dspDeclName');
    expectGroup(7, 'temperature', 'dspKey');
    expectGroup(7, 'false', 'dspBoolean');
    expectGroup(10, 'enum', 'dspDeclaration');
    expectGroup(10, 'Level', 'dspDeclName');
    expectGroup(12, 'signature', 'dspDeclaration');
    expectGroup(12, 'Triage', 'dspDeclName');
    expectGroup(13, 'in', 'dspDirection');
    expectGroup(13, 'text', 'dspFieldName');
    expectGroup(13, 'string', 'dspType');
    expectGroup(14, 'optional', 'dspType');
    expectGroup(16, 'list', 'dspType', 1);
    expectGroup(18, 'out', 'dspDirection', 2);
    expectGroup(18, 'bool', 'dspType');
    expectGroup(21, 'tool', 'dspDeclaration');
    expectGroup(21, 'retrieve', 'dspCall');
    expectGroup(21, 'from', 'dspKeyword');
    expectGroup(23, 'header', 'dspHeaderWord');
    expectGroup(25, 'module', 'dspDeclaration');
    expectGroup(25, 'Answer', 'dspDeclName');
    expectGroup(25, '->', 'dspOperator');
    expectGroup(26, 'predict', 'dspStrategy');
    expectGroup(27, 'if', 'dspConditional');
    expectGroup(27, '==', 'dspOperator');
    expectGroup(29, 'else', 'dspConditional');
    expectGroup(29, '!=', 'dspOperator');
    expectGroup(32, 'repeat', 'dspRepeat');
    expectGroup(33, 'true', 'dspBoolean');
    expectGroup(37, 'return', 'dspStatement');
    expectGroup(40, 'metric', 'dspDeclaration');
    expectGroup(40, 'score', 'dspDeclName');
    expectGroup(41, 'f1', 'dspBuiltin');
    expectGroup(43, 'or', 'dspOperatorWord');
    expectGroup(43, 'not', 'dspOperatorWord');
    expectGroup(43, 'in', 'dspOperatorWord');
    expectGroup(43, 'and', 'dspOperatorWord');
    expectGroup(44, 'judge', 'dspBuiltin');
    expectGroup(44, 'lm', 'dspKey');
    expectGroup(46, 'data', 'dspDeclaration');
    expectGroup(46, 'train', 'dspDeclName');
    expectGroup(46, 'jsonl', 'dspDataFormat');
    expectGroup(47, 'csv', 'dspDataFormat');
    expectGroup(49, 'optimize', 'dspDeclaration');
    expectGroup(49, 'with', 'dspKeyword');
    expectGroup(49, 'mipro', 'dspOptimizer');
    // lm, data and metric are keys in an option block.
    expectGroup(50, 'metric', 'dspKey');
    expectGroup(51, 'lm', 'dspKey');
    expectGroup(51, 'data', 'dspKey');
});
