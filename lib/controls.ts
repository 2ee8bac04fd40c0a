/**
 * The values the security checklist requires, each written once: the renderers write them (or stay within them),
 * the policy pack and `npm run verify` judge against them, and the checklist's text (policies/checklist.ts,
 * docs/checklist.md) states them. tests/controls.test.ts holds every other source file to importing them.
 */

/** SSH-3: the most authentication attempts sshd allows per connection (MaxAuthTries). */
export const SSH_MAX_AUTH_TRIES = 3;

/** SSH-3: the longest time a client may take to log in, in seconds (LoginGraceTime). */
export const SSH_LOGIN_GRACE_SECONDS = 30;

/** TLS-4: the shortest HSTS max-age, in seconds (one year). */
export const HSTS_MIN_MAX_AGE = 31_536_000;

/** TLS-4: the HSTS max-age the reverse proxy sends, in seconds (two years, as Mozilla's guidelines). */
export const HSTS_MAX_AGE = 63_072_000;

/** BK-8: the age, in hours, past which the newest daily backup is stale (a day and two hours of slack). */
export const BACKUP_STALE_HOURS = 26;
