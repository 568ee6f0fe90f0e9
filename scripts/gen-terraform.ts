/**
 * Writes the files in terraform/generated/ from the code, so that Terraform deploys exactly what the code expects,
 * and the inputs/outputs tables of terraform/README.md from variables.tf and outputs.tf.
 * Run with `npm run gen:terraform` (tsx scripts/gen-terraform.ts) after changing shared/events/methods.ts or a
 * variable or output; test/unit/terraform.test.ts fails while a checked-in file differs from what this script would
 * write (`--check` does the same without writing).
 *
 * - sink_filter.tftpl: `sinkFilter()` of shared/events/methods.ts as a Terraform template. The automation's own
 *   principals (the functions' service account email) are only known to Terraform, so the generator calls
 *   sinkFilter with a placeholder principal and swaps its quoted group for a template expression that renders
 *   the same `("a" OR "b")` group: `templatefile(path, { self_principals = [...] })` then equals
 *   `sinkFilter({ excludePrincipals: self_principals })`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { sinkFilter } from '../shared/events/methods';

export const TERRAFORM_DIR = join(__dirname, '..', 'terraform');
export const GENERATED_DIR = join(TERRAFORM_DIR, 'generated');
export const README = join(TERRAFORM_DIR, 'README.md');
export const SINK_FILTER_TEMPLATE = 'sink_filter.tftpl';

const PLACEHOLDER = 'spokefleet-self-principal.invalid';
/** Renders `("p1" OR "p2")` from the template variable `self_principals` (a non-empty list of emails). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Terraform template interpolation, not a JavaScript one
export const PRINCIPALS_INTERPOLATION = '(${join(" OR ", [for p in self_principals : "\\"${p}\\""])})';

/** Template literal text must not contain interpolation or directive openers. */
function escapeTemplateText(text: string): string {
  return text.replaceAll('${', '$${').replaceAll('%{', '%%{');
}

export function sinkFilterTemplate(): string {
  const filter = escapeTemplateText(sinkFilter({ excludePrincipals: [PLACEHOLDER] }));
  const group = `("${PLACEHOLDER}")`;
  if (filter.split(group).length !== 2) throw new Error(`expected exactly one ${group} in the sink filter`);
  // No trailing newline: the template's whole text is the filter.
  return filter.replace(group, PRINCIPALS_INTERPOLATION);
}

/** Every generated file: name → content. */
export function generatedFiles(): Record<string, string> {
  return { [SINK_FILTER_TEMPLATE]: sinkFilterTemplate() };
}

// --- terraform/README.md: inputs and outputs ---

interface Block {
  type?: string;
  default?: unknown;
  description?: string;
}

/** `${object({ … })}` → `object({…})` when long; short types as written, on one line. */
function typeCell(type: string | undefined): string {
  const text = (type ?? 'any').replace(/^\$\{([\s\S]*)\}$/, '$1').replace(/\s+/g, ' ');
  if (text.length <= 40) return text;
  const open = text.indexOf('({');
  const close = text.lastIndexOf('})');
  return open >= 0 && close > open
    ? `${text.slice(0, open + 2)}…${text.slice(close)}`
    : `${text.slice(0, 38)}…`;
}

function defaultCell(block: Block): string {
  if (!('default' in block)) return 'required';
  const json = JSON.stringify(block.default);
  if (json === '{}' && /^\$\{object\(/.test(block.type ?? '')) return '`{}` (defaults in the type)';
  return `\`${json.length > 50 ? `${json.slice(0, 48)}…` : json}\``;
}

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

/** The two tables, from variables.tf and outputs.tf: required inputs first, then by name. */
export async function readmeTables(dir = TERRAFORM_DIR): Promise<{ inputs: string; outputs: string }> {
  const variables = (await parse('variables.tf', readFileSync(join(dir, 'variables.tf'), 'utf8'))) as {
    variable: Record<string, Block[]>;
  };
  const outputs = (await parse('outputs.tf', readFileSync(join(dir, 'outputs.tf'), 'utf8'))) as {
    output: Record<string, Block[]>;
  };
  const vars = Object.entries(variables.variable)
    .map(([name, [block]]) => ({ name, block }))
    .sort(
      (a, b) => Number('default' in a.block) - Number('default' in b.block) || a.name.localeCompare(b.name),
    );
  const inputs = [
    '| name | type | default | description |',
    '| ---- | ---- | ------- | ----------- |',
    ...vars.map(
      ({ name, block }) =>
        `| \`${name}\` | \`${typeCell(block.type)}\` | ${defaultCell(block)} | ${cell(block.description)} |`,
    ),
  ].join('\n');
  const outs = [
    '| name | description |',
    '| ---- | ----------- |',
    ...Object.entries(outputs.output)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, [block]]) => `| \`${name}\` | ${cell(block.description)} |`),
  ].join('\n');
  return { inputs, outputs: outs };
}

export const MARKERS = {
  inputs: ['<!-- BEGIN GENERATED INPUTS (npm run gen:terraform) -->', '<!-- END GENERATED INPUTS -->'],
  outputs: ['<!-- BEGIN GENERATED OUTPUTS (npm run gen:terraform) -->', '<!-- END GENERATED OUTPUTS -->'],
} as const;

/** terraform/README.md with its generated tables replaced by the current ones. */
export async function renderReadme(current: string, dir = TERRAFORM_DIR): Promise<string> {
  const tables = await readmeTables(dir);
  let text = current;
  for (const key of ['inputs', 'outputs'] as const) {
    const [begin, end] = MARKERS[key];
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`terraform/README.md: missing ${begin} … ${end}`);
    text = `${text.slice(0, from + begin.length)}\n\n${tables[key]}\n\n${text.slice(to)}`;
  }
  return text;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  let stale = 0;
  const files: Array<[string, string]> = Object.entries(generatedFiles()).map(([name, content]) => [
    join(GENERATED_DIR, name),
    content,
  ]);
  files.push([README, await renderReadme(readFileSync(README, 'utf8'))]);
  for (const [path, content] of files) {
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    const name = path.slice(TERRAFORM_DIR.length + 1);
    if (check) {
      console.error(`terraform/${name} is out of date: run npm run gen:terraform`);
      stale++;
    } else {
      writeFileSync(path, content);
      console.log(`wrote terraform/${name}`);
    }
  }
  if (stale > 0) process.exit(1);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
