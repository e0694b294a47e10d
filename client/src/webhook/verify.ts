import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// Webhook authentication, in constant time: the time a wrong guess takes says
// nothing about how much of it was right.

/** GitLab's X-Gitlab-Token against the secret. Hashing first makes the lengths equal. */
export function sameSecret(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(secret));
}

/** GitHub's X-Hub-Signature-256 (`sha256=<hex HMAC of the raw body>`) against the secret. */
export function validSignature(body: Buffer, header: string | undefined, secret: string): boolean {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(m[1]!, 'hex'), expected);
}
