/**
 * Extracts, for exactly the google_* resource and data source types terraform/ uses, the argument and block names
 * of the hashicorp/google provider 6.50.0, and writes them to test/fixtures/terraform/provider-schema.json.
 * test/unit/terraform.test.ts checks every argument and block in terraform/ against that file, offline
 * (`terraform validate` needs the provider binary, which cannot be downloaded here).
 *
 * Source: @cdktf/provider-google 16.12.1, the generated CDKTF binding of hashicorp/google 6.50.0. Its
 * `*ToTerraform` functions name every configurable attribute and block (snake_case, exactly as HCL spells them);
 * `this.get*Attribute('x')` getters name what can be read. The package is 307 MB unpacked, so it is never a
 * dependency: `npm pack` fetches the 31 MB tarball once into a temp dir and only the needed files are extracted.
 *
 *   npx tsx scripts/provider-schema.ts            # npm pack into a temp dir, then extract
 *   npx tsx scripts/provider-schema.ts --tgz F    # reuse a tarball fetched before
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

export interface ProviderSchema {
  source: string;
  provider: string;
  resource: Record<string, TypeSchema>;
  data: Record<string, TypeSchema>;
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

/** The resource and data source types the configuration declares. */
export async function usedTypes(files = terraformFiles()): Promise<{ resource: string[]; data: string[] }> {
  const resource = new Set<string>();
  const data = new Set<string>();
  for (const file of files) {
    const json = (await parse(relative(ROOT, file), readFileSync(file, 'utf8'))) as {
      resource?: Record<string, unknown>;
      data?: Record<string, unknown>;
    };
    for (const type of Object.keys(json.resource ?? {})) resource.add(type);
    for (const type of Object.keys(json.data ?? {})) data.add(type);
  }
  return { resource: [...resource].sort(), data: [...data].sort() };
}

/** google_cloud_run_v2_service_iam_member → cloud-run-v2-service-iam-member (data sources: data-google-…). */
export function bindingDir(kind: 'resource' | 'data', type: string): string {
  return kind === 'data'
    ? `data-${type.replaceAll('_', '-')}`
    : type.replace(/^google_/, '').replaceAll('_', '-');
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

function packTarball(): { tgz: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'provider-google-'));
  console.log(`npm pack ${PACKAGE} into ${dir} (about 31 MB, once)…`);
  const name = execFileSync('npm', ['pack', PACKAGE, '--silent', '--pack-destination', dir], {
    encoding: 'utf8',
  }).trim();
  return {
    tgz: join(dir, name.split('\n').pop() ?? ''),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function extractSchema(tgz: string): Promise<ProviderSchema> {
  const types = await usedTypes();
  const wanted = [
    ...types.resource
      .filter((t) => t.startsWith('google_'))
      .map((t) => ({ kind: 'resource' as const, type: t })),
    ...types.data.filter((t) => t.startsWith('google_')).map((t) => ({ kind: 'data' as const, type: t })),
  ];
  const out = mkdtempSync(join(tmpdir(), 'provider-google-lib-'));
  try {
    const members = wanted.map((w) => `package/lib/${bindingDir(w.kind, w.type)}/index.js`);
    execFileSync('tar', ['-xzf', tgz, '-C', out, ...members], { stdio: ['ignore', 'ignore', 'inherit'] });
    const schema: ProviderSchema = { source: PACKAGE, provider: PROVIDER, resource: {}, data: {} };
    for (const [i, w] of wanted.entries()) {
      const file = join(out, members[i]);
      if (!existsSync(file)) throw new Error(`${w.kind} ${w.type}: not in ${PACKAGE} (${members[i]})`);
      schema[w.kind][w.type] = typeSchemaFromBinding(readFileSync(file, 'utf8'));
    }
    return schema;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--tgz');
  const given = at > 0 ? process.argv[at + 1] : process.env.PROVIDER_GOOGLE_TGZ;
  const packed = given ? undefined : packTarball();
  try {
    const schema = await extractSchema(given ?? packed!.tgz);
    mkdirSync(dirname(SCHEMA_FILE), { recursive: true });
    writeFileSync(SCHEMA_FILE, `${JSON.stringify(schema, null, 2)}\n`);
    const count = Object.keys(schema.resource).length + Object.keys(schema.data).length;
    console.log(`wrote ${relative(ROOT, SCHEMA_FILE)} (${count} types)`);
  } finally {
    packed?.cleanup();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
