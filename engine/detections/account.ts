/**
 * The account of an ARN (`arn:aws:kms:us-east-1:111122223333:key/…`) or a bare account id, as compared by the
 * account operators and `account` lists. Real ids are 12 digits; ids that went through a number lose their leading
 * zeros (`12345678901`) and are padded back, and other digit runs (hand-written or anonymised records carry 5- or
 * 14-digit placeholders) are compared as written, so two different ids are never taken for the same account.
 */
export function accountOf(text: string): string | undefined {
  const raw = text.startsWith('arn:') ? text.split(':')[4] : text;
  if (!raw || !/^\d{4,14}$/.test(raw)) return undefined;
  return raw.length < 12 ? raw.padStart(12, '0') : raw;
}
