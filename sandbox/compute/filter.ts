/**
 * Compute's list filters, the part the local cloud serves: one comparison (`status != DONE`), or several each in
 * parentheses, joined by juxtaposition or `AND` (`(operationType = updatePeering) (status != DONE)`). The Compute
 * API reference (`filter` of every list method, e.g. globalOperations.list): "the operator must be either =, !=,
 * >, <, <=, >= or :", "to filter on multiple expressions, provide each separate expression within parentheses";
 * expressions are ANDed by default. Ordering comparators, `OR` and regular expressions are refused with 400 rather
 * than ignored, so a caller never mistakes an unfiltered list for a filtered one.
 */
import { parseFilter } from '../gkehub/filter';
import { badRequest } from '../google-rest';

type Predicate = (resource: unknown) => boolean;

export function parseComputeFilter(filter: string | null): Predicate {
  const text = filter?.trim();
  if (!text) return () => true;
  if (!text.startsWith('(')) return parseFilter(text);
  const terms: string[] = [];
  const rest = text.replace(/\(([^()]*)\)\s*(?:AND\s*)?/g, (_all, term: string) => {
    terms.push(term);
    return '';
  });
  if (rest.trim() || terms.length === 0)
    throw badRequest(`Invalid value for field 'filter': '${text}'.`, 'invalid');
  const predicates = terms.map((term) => parseFilter(term));
  return (resource) => predicates.every((matches) => matches(resource));
}
