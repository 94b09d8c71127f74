// plist.mjs — editors/dsp.tmLanguage.json as an XML property list, the
// format Sublime Text loads (.tmLanguage). editors/sublime/DSP.tmLanguage is
// this output, committed; plist.test.mjs fails when the two drift apart.
// Regenerate: node tests/editors/plist.mjs > editors/sublime/DSP.tmLanguage
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function value(v, indent) {
    const pad = '\t'.repeat(indent);
    if (typeof v === 'string') return `${pad}<string>${esc(v)}</string>\n`;
    if (typeof v === 'boolean') return `${pad}<${v}/>\n`;
    if (typeof v === 'number' && Number.isInteger(v)) return `${pad}<integer>${v}</integer>\n`;
    if (Array.isArray(v)) return `${pad}<array>\n${v.map((x) => value(x, indent + 1)).join('')}${pad}</array>\n`;
    if (v && typeof v === 'object') {
        // $schema is for JSON editors; it means nothing in a plist.
        const keys = Object.keys(v).filter((k) => k !== '$schema');
        return `${pad}<dict>\n${keys.map((k) => `${pad}\t<key>${esc(k)}</key>\n${value(v[k], indent + 1)}`).join('')}${pad}</dict>\n`;
    }
    throw new Error(`cannot write ${JSON.stringify(v)} as a plist value`);
}

export function tmLanguagePlist() {
    const g = JSON.parse(readFileSync(path.join(root, 'editors/dsp.tmLanguage.json'), 'utf8'));
    return '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
        '<!-- Generated from editors/dsp.tmLanguage.json by tests/editors/plist.mjs; do not edit. -->\n' +
        '<plist version="1.0">\n' + value(g, 0) + '</plist>\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]))
    process.stdout.write(tmLanguagePlist());
