// plist.test.mjs — editors/sublime/DSP.tmLanguage (for Sublime Text) is the
// TextMate grammar of editors/dsp.tmLanguage.json, converted by plist.mjs,
// and reads back as the same grammar in vscode-textmate's plist parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vsctm from 'vscode-textmate';
import { tmLanguagePlist } from './plist.mjs';
import { root, grammarPath } from './tmgrammar.mjs';

const plistPath = path.join(root, 'editors/sublime/DSP.tmLanguage');

test('sublime: DSP.tmLanguage is up to date with dsp.tmLanguage.json', () => {
    assert.equal(readFileSync(plistPath, 'utf8'), tmLanguagePlist(),
        'regenerate: node tests/editors/plist.mjs > editors/sublime/DSP.tmLanguage');
});

test('sublime: the plist parses back to the JSON grammar', () => {
    const fromPlist = vsctm.parseRawGrammar(readFileSync(plistPath, 'utf8'), plistPath);
    const fromJson = JSON.parse(readFileSync(grammarPath, 'utf8'));
    delete fromJson.$schema;
    // vscode-textmate adds source locations ($vscodeTextmateLocation) to what it parses.
    const strip = (v) => (Array.isArray(v) ? v.map(strip)
        : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v)
            .filter(([k]) => k !== '$vscodeTextmateLocation').map(([k, x]) => [k, strip(x)])) : v);
    assert.deepEqual(strip(fromPlist), fromJson);
});
