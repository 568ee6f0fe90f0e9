/**
 * Extracts, for exactly the google_* resource and data source types terraform/ uses, the argument and block names
 * of the hashicorp/google provider 6.50.0 (and of hashicorp/google-beta 6.50.0 for the types used with
 * `provider = google-beta`), and writes them to test/fixtures/terraform/provider-schema.json.
 * test/unit/terraform.test.ts checks every argument and block in terraform/ against that file, offline
 * (`terraform validate` needs the provider binaries, which cannot be downloaded here).
 *
 * Source: @cdktf/provider-google 16.12.1 and @cdktf/provider-google-beta 16.12.1, the generated CDKTF bindings of
 * hashicorp/google and hashicorp/google-beta 6.50.0. Their `*ToTerraform` functions name every configurable
 * attribute and block (snake_case, exactly as HCL spells them); `this.get*Attribute('x')` getters name what can be
 * read. The packages are over 300 MB unpacked each, so they are never dependencies: `npm pack` fetches each
 * tarball (about 32 MB) once into a temp dir and only the needed files are extracted.
 *
 *   npx tsx scripts/provider-schema.ts                          # npm pack into a temp dir, then extract
 *   npx tsx scripts/provider-schema.ts --tgz F [--beta-tgz G]   # reuse tarballs fetched before
 *
 * Rerun after adding a resource type to terraform/ (the test names the missing type).
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const PACKAGE = '@cdktf/provider-google@16.12.1';
export const PROVIDER = 'hashicorp/google 6.50.0';
export const BETA_PACKAGE = '@cdktf/provider-google-beta@16.12.1';
export const BETA_PROVIDER = 'hashicorp/google-beta 6.50.0';
const ROOT = join(__dirname, '..');
export const TERRAFORM_DIR = join(ROOT, 'terraform');
export const SCHEMA_FILE = join(ROOT, 'test', 'fixtures', 'terraform', 'provider-schema.json');

export interface BlockSchema {
  arguments: string[];
  blocks: Record<string, BlockSchema>;
}

export interface TypeSchema extends BlockSchema {
  /** Every name a `this.get*Attribute('…')` getter reads, at any depth: what a reference may name. */
  readable: string[];
}

export interface ProviderTypes {
  source: string;
  provider: string;
  resource: Record<string, TypeSchema>;
  data: Record<string, TypeSchema>;
}

/** The google provider's types, and under `beta` the types terraform/ uses with `provider = google-beta`. */
export interface ProviderSchema extends ProviderTypes {
  beta: ProviderTypes;
}

/** Every *.tf file under terraform/ (modules included, .terraform excluded). */
export function terraformFiles(dir = TERRAFORM_DIR): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...terraformFiles(path));
    else if (entry.name.endsWith('.tf')) files.push(path);
  }
  return files.sort();
}

export interface UsedTypes {
  resource: string[];
  data: string[];
  /** Types declared with `provider = google-beta`. */
  beta: { resource: string[]; data: string[] };
}

/** `provider = google-beta` as hcl2json writes it. */
export const isBetaProvider = (provider: unknown): boolean =>
  typeof provider === 'string' && /^(\$\{)?google-beta(\})?$/.test(provider);

/** The resource and data source types the configuration declares, and which of them use google-beta. */
export async function usedTypes(files = terraformFiles()): Promise<UsedTypes> {
  const found = { resource: new Set<string>(), data: new Set<string>() };
  const beta = { resource: new Set<string>(), data: new Set<string>() };
  for (const file of files) {
    const json = (await parse(relative(ROOT, file), readFileSync(file, 'utf8'))) as Record<
      'resource' | 'data',
      Record<string, Record<string, Array<{ provider?: unknown }>>> | undefined
    >;
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, byName] of Object.entries(json[kind] ?? {})) {
        const bodies = Object.values(byName).flat();
        if (bodies.some((b) => isBetaProvider(b.provider))) beta[kind].add(type);
        if (bodies.some((b) => !isBetaProvider(b.provider))) found[kind].add(type);
      }
    }
  }
  const sorted = (set: Set<string>) => [...set].sort();
  return {
    resource: sorted(found.resource),
    data: sorted(found.data),
    beta: { resource: sorted(beta.resource), data: sorted(beta.data) },
  };
}

/**
 * The binding's directory: google_cloud_run_v2_service_iam_member → cloud-run-v2-service-iam-member in
 * provider-google (data sources: data-google-…); provider-google-beta keeps the prefix (google-project-…).
 */
export function bindingDir(kind: 'resource' | 'data', type: string, beta = false): string {
  if (kind === 'data') return `data-${type.replaceAll('_', '-')}`;
  return (beta ? type : type.replace(/^google_/, '')).replaceAll('_', '-');
}

/** The object literal `return { … };` that starts at or after `from`, as its `key: expression` lines. */
function returnedEntries(source: string, from: number): Array<[string, string]> {
  const start = source.indexOf('return {', from);
  if (start < 0) throw new Error('no return object');
  // Blocks without arguments (e.g. `automatic_update_policy {}`) synthesise `return {};`.
  if (source.startsWith('return {}', start)) return [];
  // The object closes with `};` at the indentation of its `return`.
  const lineStart = source.lastIndexOf('\n', start) + 1;
  const indent = source.slice(lineStart, start);
  const bodyEnd = source.indexOf(`\n${indent}};`, start);
  if (bodyEnd < 0) throw new Error('unterminated return object');
  const body = source.slice(start + 'return {'.length, bodyEnd);
  const entries: Array<[string, string]> = [];
  for (const line of body.split('\n')) {
    const match = /^\s*([a-z0-9_]+): (.+?),?$/.exec(line);
    if (match) entries.push([match[1], match[2]]);
  }
  return entries;
}

/** Argument/block names of a ToTerraform function (or of synthesizeAttributes), recursing into nested blocks. */
function blockSchema(source: string, entries: Array<[string, string]>, depth = 0): BlockSchema {
  if (depth > 20) throw new Error('block nesting too deep');
  const schema: BlockSchema = { arguments: [], blocks: {} };
  for (const [name, expression] of entries) {
    // Nested blocks are synthesised by this file's own `xxxToTerraform` functions (possibly via cdktf.listMapper).
    const nested = /(?<![.\w])([a-z]\w*ToTerraform)\b/.exec(expression);
    if (nested) {
      const definition = source.indexOf(`function ${nested[1]}(struct)`);
      if (definition < 0) throw new Error(`no definition of ${nested[1]}`);
      schema.blocks[name] = blockSchema(source, returnedEntries(source, definition), depth + 1);
    } else {
      schema.arguments.push(name);
    }
  }
  schema.arguments.sort();
  return schema;
}

export function typeSchemaFromBinding(source: string): TypeSchema {
  const synth = source.indexOf('synthesizeAttributes() {');
  if (synth < 0) throw new Error('no synthesizeAttributes');
  const schema = blockSchema(source, returnedEntries(source, synth));
  const readable = new Set<string>();
  for (const match of source.matchAll(/this\.get\w*Attribute\('([a-z0-9_]+)'\)/g)) readable.add(match[1]);
  return { ...schema, readable: [...readable].sort() };
}

function packTarball(pkg: string): { tgz: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'provider-google-'));
  console.log(`npm pack ${pkg} into ${dir} (about 32 MB, once)…`);
  const name = execFileSync('npm', ['pack', pkg, '--silent', '--pack-destination', dir], {
    encoding: 'utf8',
  }).trim();
  return {
    tgz: join(dir, name.split('\n').pop() ?? ''),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The schemas of `types` (google_* only) from one binding tarball. */
async function extractTypes(
  tgz: string,
  types: { resource: string[]; data: string[] },
  names: { source: string; provider: string },
  beta: boolean,
): Promise<ProviderTypes> {
  const wanted = [
    ...types.resource
      .filter((t) => t.startsWith('google_'))
      .map((t) => ({ kind: 'resource' as const, type: t })),
    ...types.data.filter((t) => t.startsWith('google_')).map((t) => ({ kind: 'data' as const, type: t })),
  ];
  const result: ProviderTypes = { ...names, resource: {}, data: {} };
  if (wanted.length === 0) return result;
  const out = mkdtempSync(join(tmpdir(), 'provider-google-lib-'));
  try {
    const members = wanted.map((w) => `package/lib/${bindingDir(w.kind, w.type, beta)}/index.js`);
    execFileSync('tar', ['-xzf', tgz, '-C', out, ...members], { stdio: ['ignore', 'ignore', 'inherit'] });
    for (const [i, w] of wanted.entries()) {
      const file = join(out, members[i]);
      if (!existsSync(file)) throw new Error(`${w.kind} ${w.type}: not in ${names.source} (${members[i]})`);
      result[w.kind][w.type] = typeSchemaFromBinding(readFileSync(file, 'utf8'));
    }
    return result;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export async function extractSchema(tgz: string, betaTgz: string): Promise<ProviderSchema> {
  const types = await usedTypes();
  const google = await extractTypes(tgz, types, { source: PACKAGE, provider: PROVIDER }, false);
  const beta = await extractTypes(
    betaTgz,
    types.beta,
    { source: BETA_PACKAGE, provider: BETA_PROVIDER },
    true,
  );
  return { ...google, beta };
}

function argument(flag: string, env: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at > 0 ? process.argv[at + 1] : process.env[env];
}

async function main(): Promise<void> {
  const given = argument('--tgz', 'PROVIDER_GOOGLE_TGZ');
  const givenBeta = argument('--beta-tgz', 'PROVIDER_GOOGLE_BETA_TGZ');
  const packed = given ? undefined : packTarball(PACKAGE);
  const packedBeta = givenBeta ? undefined : packTarball(BETA_PACKAGE);
  try {
    const schema = await extractSchema(
      given ?? (packed as { tgz: string }).tgz,
      givenBeta ?? (packedBeta as { tgz: string }).tgz,
    );
    mkdirSync(dirname(SCHEMA_FILE), { recursive: true });
    writeFileSync(SCHEMA_FILE, `${JSON.stringify(schema, null, 2)}\n`);
    const count = (t: ProviderTypes) => Object.keys(t.resource).length + Object.keys(t.data).length;
    console.log(`wrote ${relative(ROOT, SCHEMA_FILE)} (${count(schema)} + ${count(schema.beta)} beta types)`);
  } finally {
    packed?.cleanup();
    packedBeta?.cleanup();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
