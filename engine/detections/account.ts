/** The 12-digit account of an ARN (`arn:aws:kms:us-east-1:111122223333:key/…`) or a bare account id. */
export function accountOf(text: string): string | undefined {
  if (/^\d{12}$/.test(text)) return text;
  const account = text.startsWith('arn:') ? text.split(':')[4] : undefined;
  return account && /^\d{12}$/.test(account) ? account : undefined;
}
