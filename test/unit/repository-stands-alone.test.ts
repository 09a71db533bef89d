import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

/**
 * A fresh clone with nothing beside it must build, test and read: no code, test, script or document
 * may reach a folder outside the repository (the design notes and fixtures the project started from
 * lived in sibling folders; what is needed was copied into docs/ and test/fixtures/).
 */
const ROOT = path.resolve(__dirname, '../..');
const FOLDERS = ['src', 'test', 'scripts', 'docs', 'bench', 'views', 'migrations', '.ci'];
const TOP_FILES = ['README.md', 'package.json', 'tsconfig.json', 'Dockerfile', 'docker-compose.yml'];
const TEXT = /\.(ts|mts|mjs|js|json|md|ejs|yml|yaml|sh|txt)$|^run$/;

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : files(p);
    return TEXT.test(e.name) ? [p] : [];
  });
}

const ALL = [...FOLDERS.flatMap((f) => files(path.join(ROOT, f))), ...TOP_FILES.map((f) => path.join(ROOT, f)).filter((f) => fs.existsSync(f))];
const rel = (p: string) => path.relative(ROOT, p);

describe('the repository stands alone', () => {
  test('no file names a sibling folder of the repository (../shared, ../seed)', () => {
    // Built from parts so that this file does not name them itself.
    const sibling = new RegExp(['\\.\\./', '(shared|seed)', '/'].join(''));
    const offenders = ALL.filter((f) => f !== __filename && sibling.test(fs.readFileSync(f, 'utf8'))).map(rel);
    assert.deepEqual(offenders, []);
  });

  test('every relative link in README.md and docs/ points at a file inside the repository', () => {
    const docs = [path.join(ROOT, 'README.md'), ...files(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))];
    const bad: string[] = [];
    for (const doc of docs) {
      const text = fs.readFileSync(doc, 'utf8');
      // Markdown links, and paths in code spans that climb out of the document's folder (`../x`).
      const targets = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g), ...text.matchAll(/`(\.\.\/[^`\s]*)`/g)].map((m) => m[1] as string);
      for (const t of targets) {
        if (/^[a-z]+:/i.test(t)) continue; // https:, mailto:
        const target = path.resolve(path.dirname(doc), t);
        if (!target.startsWith(ROOT + path.sep) || !fs.existsSync(target)) bad.push(`${rel(doc)} -> ${t}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  test('the vendored fixtures carry their sources and licences', () => {
    const dir = path.join(ROOT, 'test/fixtures/cdr');
    const sources = fs.readFileSync(path.join(dir, 'SOURCES.md'), 'utf8');
    const licences = fs.readFileSync(path.join(dir, 'LICENSES.md'), 'utf8');
    for (const sub of ['freeswitch', 'asterisk', 'kamailio', 'broadworks', 'cucm']) {
      assert.match(sources, new RegExp(`\\| ${sub}/`), `SOURCES.md says where ${sub}/ comes from`);
      assert.match(licences, new RegExp('`' + sub + '/'), `LICENSES.md gives the licence of ${sub}/`);
    }
  });
});
