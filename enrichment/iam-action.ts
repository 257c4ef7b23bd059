/**
 * CloudTrail (eventSource, eventName) → the IAM action(s) the call needs.
 * The naive rule (`<first label of eventSource>:<eventName>`) is right for ~90% of events; the exceptions
 * (other service prefixes, API-version suffixes, S3 renames, HTTP-verb permissions, sign-in events) are data in
 * rules/enrichment/iam-actions.yaml. Only actions that exist in iam-data are returned.
 */
import type { IamActionIndex } from './access-level.ts';
import type { EnrichmentTables } from './tables.ts';

export type IamActionMapper = (eventSource: string, eventName: string, eventType?: string) => string[];

export function createIamActionMapper(
  rules: EnrichmentTables['iamActions'],
  index: IamActionIndex,
): IamActionMapper {
  const noActionTypes = new Set(rules.noActionEventTypes);
  const noAction = new Set(
    Object.entries(rules.noAction).flatMap(([source, names]) => names.map((n) => `${source}:${n}`)),
  );
  const exact = new Map<string, string[]>();
  for (const [source, byName] of Object.entries(rules.events)) {
    for (const [name, actions] of Object.entries(byName)) exact.set(`${source}:${name}`, actions);
  }
  const suffixes = new Map<string, RegExp[]>();
  for (const s of rules.versionSuffixes) {
    const list = suffixes.get(s.eventSource) ?? [];
    list.push(new RegExp(s.pattern));
    suffixes.set(s.eventSource, list);
  }

  /** Canonical spelling when iam-data knows the action, else undefined. */
  const known = (prefix: string, action: string): string | undefined =>
    index.actions.get(`${prefix}:${action.toLowerCase()}`)?.action;

  const prefixOf = (eventSource: string): string => {
    const label = eventSource.split('.', 1)[0] ?? eventSource;
    return rules.sourcePrefixes[label] ?? label;
  };

  return (eventSource, eventName, eventType) => {
    if (eventType && noActionTypes.has(eventType)) return [];
    const key = `${eventSource}:${eventName}`;
    if (noAction.has(key)) return [];
    const listed = exact.get(key);
    if (listed) return listed.map((a) => known(...splitAction(a)) ?? a);

    const prefix = prefixOf(eventSource);
    let name = eventName;
    for (const re of suffixes.get(eventSource) ?? []) {
      const base = re.exec(eventName)?.groups?.base;
      if (base) {
        name = base;
        break;
      }
    }
    const verbs = rules.httpVerbServices[eventSource];
    if (verbs) {
      for (const [namePrefix, verb] of Object.entries(verbs.verbsByNamePrefix)) {
        if (name.startsWith(namePrefix)) {
          const action = known(verbs.prefix, verb);
          return action ? [action] : [];
        }
      }
      return [];
    }
    const action = known(prefix, name);
    return action ? [action] : [];
  };
}

function splitAction(action: string): [string, string] {
  const i = action.indexOf(':');
  return [action.slice(0, i), action.slice(i + 1)];
}
