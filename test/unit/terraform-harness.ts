// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations (`${…}`) are the subject here
/**
 * Offline tools for testing terraform/ (no provider can be downloaded here): the configuration parsed with
 * @cdktf/hcl2json, its dependency graph as Terraform builds it (references and depends_on), and — where a
 * `terraform` binary is installed — the provider-free parts evaluated by the real Terraform (locals and variable
 * validations copied into a scratch module that needs no provider).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const ROOT = join(__dirname, '..', '..');
export const TF = join(ROOT, 'terraform');
export const MODULE = join(TF, 'modules', 'spokefleet-config');
export const read = (path: string) => readFileSync(path, 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: hcl2json output is untyped JSON
export type Json = any;

export interface Module {
  files: Record<string, string>;
  variable: Record<string, Json>;
  locals: Record<string, Json>;
  resource: Record<string, Record<string, Json>>;
  data: Record<string, Record<string, Json>>;
  module: Record<string, Json>;
  output: Record<string, Json>;
  import: Json[];
  terraform: Json[];
  provider: Record<string, Json[]>;
}

export async function loadModule(dir: string): Promise<Module> {
  const mod: Module = {
    files: {},
    variable: {},
    locals: {},
    resource: {},
    data: {},
    module: {},
    output: {},
    import: [],
    terraform: [],
    provider: {},
  };
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort()) {
    const text = read(join(dir, name));
    mod.files[name] = text;
    const json: Json = await parse(name, text);
    for (const [key, value] of Object.entries(json.variable ?? {})) mod.variable[key] = (value as Json[])[0];
    for (const block of json.locals ?? []) Object.assign(mod.locals, block);
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, byName] of Object.entries(json[kind] ?? {})) {
        for (const [resourceName, bodies] of Object.entries(byName as Record<string, Json[]>)) {
          mod[kind][type] ??= {};
          mod[kind][type][resourceName] = bodies[0];
        }
      }
    }
    for (const [key, value] of Object.entries(json.module ?? {})) mod.module[key] = (value as Json[])[0];
    for (const [key, value] of Object.entries(json.output ?? {})) mod.output[key] = (value as Json[])[0];
    for (const [key, value] of Object.entries(json.provider ?? {})) mod.provider[key] = value as Json[];
    mod.import.push(...(json.import ?? []));
    mod.terraform.push(...(json.terraform ?? []));
  }
  return mod;
}

/** HCL text without comments (`#`, `//`, `/* … *\/`); good enough for finding references. */
export function hclCode(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)(#|\/\/).*$/gm, '$1');
}

export const allCode = (mod: Module) => Object.values(mod.files).map(hclCode).join('\n');

/** `"${expr}"` → `expr`. */
export const unwrap = (value: unknown): string => {
  assert.equal(typeof value, 'string');
  const match = /^\$\{([\s\S]*)\}$/.exec(value as string);
  return match ? match[1] : (value as string);
};

// --- the dependency graph ---

/**
 * Node ids: `TYPE.NAME` (resources), `data.TYPE.NAME`, `local.NAME`, `var.NAME`, `module.NAME`. Edges: every
 * reference in an expression (strings holding `${…}`) and every depends_on entry, as Terraform orders the plan.
 */
export type Graph = Map<string, Set<string>>;

const REFERENCE =
  /(?<![\w.-])(?:(data)\.([a-z][a-z0-9_]*)\.([a-z0-9_]+)|(local|var|module)\.([a-z0-9_]+)|([a-z][a-z0-9]*_[a-z0-9_]+)\.([a-z0-9_]+))/g;

/** The references in one body: only expression strings count (`${…}`), so prose in descriptions does not. */
export function references(body: unknown, resourceTypes: Set<string>): Set<string> {
  const found = new Set<string>();
  const visit = (value: unknown) => {
    if (typeof value === 'string') {
      if (!value.includes('${')) return;
      for (const m of value.matchAll(REFERENCE)) {
        if (m[1]) found.add(`data.${m[2]}.${m[3]}`);
        else if (m[4]) found.add(`${m[4]}.${m[5]}`);
        else if (resourceTypes.has(m[6])) found.add(`${m[6]}.${m[7]}`);
      }
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(body);
  return found;
}

export function dependencyGraph(mod: Module): Graph {
  const types = new Set(Object.keys(mod.resource));
  const graph: Graph = new Map();
  for (const [type, byName] of Object.entries(mod.resource))
    for (const [name, body] of Object.entries(byName)) graph.set(`${type}.${name}`, references(body, types));
  for (const [type, byName] of Object.entries(mod.data))
    for (const [name, body] of Object.entries(byName))
      graph.set(`data.${type}.${name}`, references(body, types));
  for (const [name, expression] of Object.entries(mod.locals))
    graph.set(
      `local.${name}`,
      references(typeof expression === 'string' ? expression : { expression }, types),
    );
  for (const [name, body] of Object.entries(mod.module)) graph.set(`module.${name}`, references(body, types));
  for (const name of Object.keys(mod.variable)) graph.set(`var.${name}`, new Set());
  return graph;
}

/** Everything `node` waits for in the plan, through locals and modules. */
export function dependsOn(graph: Graph, node: string): Set<string> {
  assert.ok(graph.has(node), `${node} is not in the configuration`);
  const seen = new Set<string>();
  const stack = [...(graph.get(node) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return seen;
}

/** A cycle Terraform would refuse, as a path, or undefined. */
export function findCycle(graph: Graph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

// --- the terraform binary (optional) ---

export function terraformEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
  };
  if (!env.TF_CLI_CONFIG_FILE || !existsSync(env.TF_CLI_CONFIG_FILE)) env.TF_CLI_CONFIG_FILE = '/dev/null';
  return env;
}

export const HAVE_TERRAFORM = spawnSync('terraform', ['version'], { env: terraformEnv() }).status === 0;

export function terraform(cwd: string, args: string[]): string {
  const result = spawnSync('terraform', [...args, '-no-color'], {
    cwd,
    env: terraformEnv(),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `terraform ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

export function needTerraform(ctx: Mocha.Context): void {
  if (!HAVE_TERRAFORM) {
    console.warn(`      (skipped: terraform is not installed; "${ctx.test?.title}" needs it)`);
    ctx.skip();
  }
}

export function withScratch<T>(prefix: string, work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The end of the `${…}` starting at `from`, or -1 (braces inside string literals are skipped). */
function interpolationEnd(text: string, from: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** A value as hcl2json gives it, written back as an HCL expression. */
export function asHcl(value: unknown): string {
  if (typeof value === 'string') {
    // A template that is one interpolation is that expression (possibly multi-line); others stay templates.
    if (value.startsWith('${') && interpolationEnd(value, 0) === value.length - 1)
      return `(${value.slice(2, -1)})`;
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(asHcl).join(', ')}]`;
  if (value && typeof value === 'object') {
    return `{\n${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)} = ${asHcl(v)}`)
      .join('\n')}\n}`;
  }
  return JSON.stringify(value);
}

/**
 * The locals `expressions` need, transitively, as HCL lines; `stubs` replace locals that need a provider
 * (a reference to a resource, data source or module fails the assertion instead of being copied).
 */
export function neededLocals(
  mod: Module,
  expressions: string[],
  stubs: Record<string, string> = {},
): string[] {
  const names = new Set<string>();
  const queue = expressions.flatMap((e) => [...e.matchAll(/\blocal\.(\w+)/g)].map((m) => m[1]));
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (names.has(name)) continue;
    names.add(name);
    if (name in stubs) continue;
    assert.ok(name in mod.locals, `local.${name} is not declared`);
    queue.push(...[...JSON.stringify(mod.locals[name]).matchAll(/\blocal\.(\w+)/g)].map((m) => m[1]));
  }
  return [...names].sort().map((name) => {
    if (name in stubs) return `  ${name} = ${stubs[name]}`;
    const expression = asHcl(mod.locals[name]);
    assert.doesNotMatch(expression, /\b(google_\w+\.|data\.|module\.)/, `local.${name} needs a stub`);
    return `  ${name} = ${expression}`;
  });
}

/**
 * Evaluates HCL expressions with the real Terraform against the root module's variables.tf (every validation
 * runs) and the locals they need, for one set of variable values. Returns the values by name.
 */
export function evaluate(
  mod: Module,
  expressions: Record<string, string>,
  tfvars: string,
  stubs: Record<string, string> = {},
): Record<string, unknown> {
  return withScratch('spokefleet-eval-', (dir) => {
    cpSync(join(TF, 'variables.tf'), join(dir, 'variables.tf'));
    const lines = neededLocals(mod, Object.values(expressions), stubs);
    writeFileSync(join(dir, 'locals.tf'), `locals {\n${lines.join('\n')}\n}\n`);
    writeFileSync(
      join(dir, 'outputs.tf'),
      Object.entries(expressions)
        .map(([name, expression]) => `output "${name}" {\n  value = ${expression}\n}\n`)
        .join('\n'),
    );
    writeFileSync(join(dir, 'terraform.tfvars'), tfvars);
    terraform(dir, ['init', '-input=false', '-backend=false']);
    terraform(dir, ['apply', '-auto-approve', '-input=false']);
    const outputs = JSON.parse(terraform(dir, ['output', '-json'])) as Record<string, { value: unknown }>;
    return Object.fromEntries(Object.entries(outputs).map(([name, o]) => [name, o.value]));
  });
}

/** The variables every evaluation needs (the required ones), for the seed topology. */
export const REQUIRED_TFVARS = `project_id = "spokefleet-demo"
region     = "us-east4"
projects   = ["spokefleet-demo"]
spokes     = [{ project = "spokefleet-demo", network = "gcp-spoke100-us-east4" }]
`;

export interface ValidationCase {
  name: string;
  /** HCL assignments (`name = value` lines) on top of REQUIRED_TFVARS. */
  variables: string;
  /** The variable whose validation must fail, or undefined when the values must be accepted. */
  rejects?: string;
}

/**
 * Runs every case through `terraform test` (one plan per case) against a copy of variables.tf; returns the names
 * of the cases whose outcome differs from the expected one, with Terraform's output for the report.
 */
export function runValidationCases(cases: ValidationCase[]): { wrong: string[]; output: string } {
  return withScratch('spokefleet-validate-', (dir) => {
    cpSync(join(TF, 'variables.tf'), join(dir, 'variables.tf'));
    const runs = cases.map(
      (c, i) =>
        `run "case_${i}" {\n  command = plan\n  variables {\n${c.variables}\n  }\n${
          c.rejects ? `  expect_failures = [var.${c.rejects}]\n` : ''
        }}\n`,
    );
    writeFileSync(join(dir, 'cases.tftest.hcl'), `variables {\n${REQUIRED_TFVARS}}\n\n${runs.join('\n')}`);
    terraform(dir, ['init', '-input=false', '-backend=false']);
    const result = spawnSync('terraform', ['test', '-no-color'], {
      cwd: dir,
      env: terraformEnv(),
      encoding: 'utf8',
    });
    const output = `${result.stdout}\n${result.stderr}`;
    const wrong = cases
      .filter((_, i) => !new RegExp(`run "case_${i}"\\.\\.\\. pass`).test(output))
      .map((c) => c.name);
    return { wrong, output };
  });
}
