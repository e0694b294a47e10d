import { z } from 'zod';

/**
 * A git url the workers fetch. It travels in workflow history, so it must not
 * carry a password or token (`https://user:token@host/...`, as CI's
 * $CI_REPOSITORY_URL does): workers bring their own git credentials.
 */
export const RepoUrl = z
  .string()
  .min(1)
  .refine(
    (u) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(u),
    'no password or token in the url (it would be stored in workflow history): give the workers their own git credentials (a credential helper or an ssh key)',
  );
