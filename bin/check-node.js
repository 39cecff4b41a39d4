// Plain JavaScript on purpose: it must run (and explain itself) on a Node.js too old to load
// the TypeScript sources, which need type stripping (Node >= 22.12 with it enabled, 23.6+ by default).
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
export const neededNode = pkg.engines.node.replace(/^>=\s*/, '');

function atLeast(found, wanted) {
  const a = found.split('.').map(Number);
  const b = wanted.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** The one sentence to print when this Node.js cannot run shipslog, or null when it can. */
export function nodeProblem(found, canStripTypes) {
  if (!atLeast(found, neededNode)) {
    return `shipslog needs Node.js ${neededNode} or newer, but this is Node.js ${found}; install Node.js 24 LTS (for example: npm install --prefix ~/node24 node@24, then put ~/node24/node_modules/.bin first on PATH) and run it again.`;
  }
  if (!canStripTypes) {
    return `shipslog runs its TypeScript sources directly, but this Node.js ${found} has type stripping off; run it with --experimental-strip-types or use Node.js 24 LTS.`;
  }
  return null;
}

export function checkNode() {
  const problem = nodeProblem(process.versions.node, Boolean(process.features?.typescript));
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) checkNode();
