import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, symlink } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The container image's file set without a container runtime: the Dockerfile's own
 * instructions, read and carried out against a directory. COPY copies what it names (minus
 * .dockerignore), the RUN line's `npm ci` runs there, ENV and CMD are kept for the caller.
 * An instruction or RUN command this does not know fails loudly, so the test follows the
 * Dockerfile instead of a copy of it.
 */

const exec = promisify(execFile);

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions with line continuations joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (!pending) start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const m = /^(\w+)\s+(.*)$/s.exec(full);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot read "${full}"`);
    out.push({ op: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), line: start });
  });
  return out;
}

export interface ReproducedImage {
  /** The directory standing for WORKDIR. */
  dir: string;
  workdir: string;
  /** ENV of the Dockerfile, container paths as they are (see mapPath). */
  env: Record<string, string>;
  cmd: string[];
  user: string | undefined;
  /** What COPY put at WORKDIR's top level. */
  copied: string[];
  /** Directories the RUN lines make outside WORKDIR (e.g. /data), for the caller to stand in for. */
  madeDirs: string[];
}

export interface ReproduceOptions {
  /** Dockerfile text (default: the file in the context). */
  dockerfile?: string;
  /** Instead of running `npm ci`, link this node_modules (a variant of an image already installed). */
  linkNodeModulesFrom?: string;
}

/** Carries out the Dockerfile of `context` into `dir`. */
export async function reproduceImage(context: string, dir: string, options: ReproduceOptions = {}): Promise<ReproducedImage> {
  const text = options.dockerfile ?? readFileSync(path.join(context, 'Dockerfile'), 'utf8');
  const ignored = dockerignore(context);
  const image: ReproducedImage = { dir, workdir: '/', env: {}, cmd: [], user: undefined, copied: [], madeDirs: [] };
  const inWorkdir = (dest: string) => {
    const abs = path.posix.resolve(image.workdir, dest);
    const rel = path.posix.relative(image.workdir, abs);
    if (rel.startsWith('..')) throw new Error(`COPY to ${dest}: outside WORKDIR ${image.workdir}, not reproduced`);
    return { host: path.join(dir, rel), rel };
  };
  for (const { op, args, line } of parseDockerfile(text)) {
    const where = `Dockerfile line ${line} (${op} ${args})`;
    switch (op) {
      case 'FROM':
      case 'EXPOSE':
      case 'LABEL':
        break;
      case 'WORKDIR':
        image.workdir = path.posix.resolve(image.workdir, args);
        break;
      case 'ENV': {
        const pairs = args.includes('=') ? [...args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1], m[2]]) : [args.split(/\s+/, 2)];
        for (const [k, v] of pairs) image.env[k as string] = (v as string).replace(/^"|"$/g, '');
        break;
      }
      case 'USER':
        image.user = args;
        break;
      case 'CMD':
        image.cmd = JSON.parse(args) as string[];
        break;
      case 'COPY': {
        const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
        const dest = parts.pop() as string;
        for (const source of parts) {
          const target = parts.length > 1 || dest.endsWith('/') ? path.posix.join(dest, path.posix.basename(source)) : dest;
          const { host, rel } = inWorkdir(target);
          await mkdir(path.dirname(host), { recursive: true });
          const from = path.join(context, source);
          if (!existsSync(from)) throw new Error(`${where}: ${source} does not exist in the build context`);
          await cp(from, host, { recursive: true, filter: (src) => !ignored(path.relative(context, src)) });
          image.copied.push(rel.split('/')[0] as string);
        }
        break;
      }
      case 'RUN':
        for (const command of args.split('&&').map((c) => c.trim())) await run(command, image, options, where);
        break;
      default:
        throw new Error(`${where}: instruction not reproduced by test/support/image.ts`);
    }
  }
  return image;
}

async function run(command: string, image: ReproducedImage, options: ReproduceOptions, where: string): Promise<void> {
  const words = command.split(/\s+/);
  if (words[0] === 'npm' && words[1] === 'ci') {
    if (options.linkNodeModulesFrom) {
      await symlink(path.join(options.linkNodeModulesFrom, 'node_modules'), path.join(image.dir, 'node_modules'), 'dir');
      return;
    }
    // The same command; --prefer-offline only lets npm's cache answer what it already holds.
    await exec('npm', [...words.slice(1), '--prefer-offline'], {
      cwd: image.dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: image.env.NODE_ENV },
      timeout: 170_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return;
  }
  if (words[0] === 'npm' && words[1] === 'cache' && words[2] === 'clean') return; // changes no file of the image's app
  const outside = (p: string | undefined) => p !== undefined && p.startsWith('/') && !p.startsWith(`${image.workdir}/`) && p !== image.workdir;
  if (words[0] === 'mkdir' && words[1] === '-p' && words.slice(2).every(outside)) {
    image.madeDirs.push(...words.slice(2));
    return;
  }
  if (words[0] === 'chown' && words.length === 3 && outside(words[2])) return;
  throw new Error(`${where}: RUN ${command}: not reproduced by test/support/image.ts; teach it what this changes in the image`);
}

/** A predicate for paths (relative to the context) that .dockerignore leaves out. */
function dockerignore(context: string): (rel: string) => boolean {
  const file = path.join(context, '.dockerignore');
  const patterns = existsSync(file)
    ? readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    : [];
  if (patterns.some((p) => p.startsWith('!'))) throw new Error('.dockerignore exceptions (!) are not reproduced by test/support/image.ts');
  return (rel) => {
    if (rel === '') return false;
    const segments = rel.split(path.sep);
    // A pattern that matches a directory leaves out everything under it.
    return segments.some((_, i) => patterns.some((p) => path.matchesGlob(segments.slice(0, i + 1).join('/'), p.replace(/^\/|\/$/g, ''))));
  };
}

/** Every file under dir with its size and mtime, node_modules left out: what a process wrote shows. */
export function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.name === 'node_modules' && d === dir) continue;
      if (entry.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        files.set(path.relative(dir, p), `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return files;
}

export interface RuntimeImport {
  file: string;
  specifier: string;
}

/**
 * Imports that run when a file loads: `import ... from`, `export ... from`, `import '...'`
 * and `import('...')`. Only a whole `import type` / `export type` is erased (with
 * verbatimModuleSyntax, `import { type A } from 'x'` still loads x).
 */
export function runtimeImports(dir: string, roots: string[]): RuntimeImport[] {
  const found: RuntimeImport[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(ts|js|mjs)$/.test(entry.name)) {
        const text = readFileSync(p, 'utf8');
        const patterns = [
          /^\s*(?:import|export)\s+(type\s+)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/gm,
          /^\s*import\s*()['"]([^'"]+)['"]/gm,
          /\bimport\(\s*()['"]([^'"]+)['"]\s*\)/g,
        ];
        for (const re of patterns) {
          for (const m of text.matchAll(re)) if (!m[1]) found.push({ file: path.relative(dir, p), specifier: m[2] as string });
        }
      }
    }
  };
  for (const root of roots) walk(path.join(dir, root));
  return found;
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or null for node: and relative ones. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

/** `${NAME:-default}`, `${NAME-default}`, `${NAME}` and `$$`, as docker compose interpolates. */
export function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?-)([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, fallback: string | undefined) => {
    if (whole === '$$') return '$';
    const v = vars[name as string];
    if (op === ':-') return v ? v : (fallback ?? '');
    if (op === '-') return v !== undefined ? v : (fallback ?? '');
    return v ?? '';
  });
}
