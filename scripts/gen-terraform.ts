/**
 * Writes the files in terraform/generated/ from the code, so that Terraform deploys exactly what the code expects.
 * Run with `npm run gen:terraform` (tsx scripts/gen-terraform.ts) after changing shared/events/methods.ts;
 * test/unit/terraform.test.ts fails while a checked-in file differs from what this script would write.
 *
 * - sink_filter.tftpl: `sinkFilter()` of shared/events/methods.ts as a Terraform template. The automation's own
 *   principals (the functions' service account email) are only known to Terraform, so the generator calls
 *   sinkFilter with a placeholder principal and swaps its quoted group for a template expression that renders
 *   the same `("a" OR "b")` group: `templatefile(path, { self_principals = [...] })` then equals
 *   `sinkFilter({ excludePrincipals: self_principals })`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sinkFilter } from '../shared/events/methods';

export const GENERATED_DIR = join(__dirname, '..', 'terraform', 'generated');
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

function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, content] of Object.entries(generatedFiles())) {
    const path = join(GENERATED_DIR, name);
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    if (check) {
      console.error(`terraform/generated/${name} is out of date: run npm run gen:terraform`);
      stale++;
    } else {
      writeFileSync(path, content);
      console.log(`wrote terraform/generated/${name}`);
    }
  }
  if (stale > 0) process.exit(1);
}

if (require.main === module) main();
