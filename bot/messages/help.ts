import { context, section } from './chunk.ts';
import { clip, code, esc } from './format.ts';
import type { SlackMessage } from './limits.ts';

export interface HelpEntry {
  name: string;
  usage: string;
  summary: string;
}

/** Example arguments to suggest (taken from the configured data, e.g. the bundled demo). */
export interface HelpExamples {
  sessionKeys?: string[];
  users?: string[];
  ips?: string[];
}

export function buildHelp(
  entries: readonly HelpEntry[],
  defaultSource: string,
  examples: HelpExamples = {},
): SlackMessage {
  const lines = entries.map((e) => `• ${code(e.usage)}\n   ${esc(e.summary)}`);
  const tries: string[] = [];
  for (const k of (examples.sessionKeys ?? []).slice(0, 2)) tries.push(code(`/cartographer session ${k}`));
  for (const u of (examples.users ?? []).slice(0, 1)) tries.push(code(`/cartographer user ${u}`));
  for (const ip of (examples.ips ?? []).slice(0, 1)) tries.push(code(`/cartographer ip ${ip}`));
  const blocks = [
    section(
      clip(`*Cartographer* turns CloudTrail into sessions, actions and findings.\n${lines.join('\n')}`, 2900),
    ),
    context(
      `Default source: ${esc(defaultSource)} · \`--since\` takes 30m, 24h, 7d or an ISO time · results arrive as a message with the details in its thread`,
    ),
  ];
  if (tries.length) blocks.splice(1, 0, section(clip(`*Try*\n${tries.join('\n')}`, 2900)));
  return { text: `Cartographer commands: ${entries.map((e) => e.name).join(', ')}`, blocks };
}
