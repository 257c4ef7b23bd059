/** Reading the Block Kit messages the bot builds in tests, with @slack/types' narrowing instead of casts. */
import type { Button, KnownBlock, SectionBlock } from '@slack/types';

export function isSection(b: KnownBlock): b is SectionBlock {
  return b.type === 'section';
}

/** The text of a header or section block ('' for other blocks and for a section with fields only). */
export function textOf(b: KnownBlock | undefined): string {
  return b?.type === 'header' || b?.type === 'section' ? (b.text?.text ?? '') : '';
}

/** The buttons of a message's actions blocks and section accessories, in order. */
export function buttonsOf(blocks: readonly KnownBlock[] | undefined): Button[] {
  return (blocks ?? []).flatMap((b) => {
    const elements =
      b.type === 'actions' ? b.elements : b.type === 'section' && b.accessory ? [b.accessory] : [];
    return elements.filter((e): e is Button => e.type === 'button');
  });
}
