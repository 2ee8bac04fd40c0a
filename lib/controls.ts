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

/** An HSTS value's max-age in seconds (its directives are case-insensitive, RFC 6797); 0 when it has none. */
export const hstsMaxAge = (v: string) => Number(/(?:^|;)\s*max-age\s*=\s*"?(\d+)"?\s*(?:;|$)/i.exec(v)?.[1] ?? 0);

/** Whether an HSTS value carries the includeSubDomains directive. */
export const hstsIncludesSubDomains = (v: string) => /(?:^|;)\s*includeSubDomains\s*(?:;|$)/i.test(v);

/**
 * A response header a control requires: its name, what the control wants (in words, for messages), the value the
 * reverse proxy sends, and the judge of a value.
 */
export type RequiredHeader = { name: string; wants: string; sent: string; ok: (value: string) => boolean };

/** Referrer-Policy values that send no more than the origin across sites (HDR-3). */
const REFERRER_OK = ["strict-origin-when-cross-origin", "strict-origin", "same-origin", "no-referrer"];
const REFERRER_KNOWN = [...REFERRER_OK, "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "unsafe-url"];

/**
 * The policy a browser applies from a Referrer-Policy value: a comma list is a fallback list, and the browser
 * uses the last token it knows (W3C Referrer Policy, "parse a referrer policy from a header").
 */
export const effectiveReferrerPolicy = (v: string) => v.split(",").map((t) => t.trim().toLowerCase()).filter((t) => REFERRER_KNOWN.includes(t)).slice(-1)[0];

/** One member of a structured-field dictionary (RFC 8941): a lowercase key, `=` with no space, an inner list or an item. */
const DICTIONARY_MEMBER = /^[a-z*][a-z0-9_.*-]*(=(\((\s*("[^"\\]*"|[A-Za-z*][^\s()";,]*))*\s*\)|"[^"\\]*"|[A-Za-z0-9*?][^\s()";,]*))?(;[^,]*)?$/;

/**
 * Whether a Permissions-Policy denies a feature to every origin. The header is a structured-field dictionary: a
 * browser drops all of it when one member does not parse (an uppercase key, a space before `=`); otherwise the last
 * entry of a repeated key counts, and it must be `feature=()` (spaces inside the parentheses allowed).
 */
export const deniesFeature = (v: string, feature: string) => {
    const members = v.split(",").map((d) => d.trim());
    if (!members.every((m) => DICTIONARY_MEMBER.test(m))) return false;
    const entry = members.filter((m) => m.split("=")[0] === feature).slice(-1)[0];
    return entry !== undefined && /^[^=]+=\(\s*\)(;.*)?$/.test(entry);
};

/** The features HDR-4 wants denied to every origin. */
export const DENIED_FEATURES = ["camera", "microphone", "geolocation"] as const;
const DENIED = DENIED_FEATURES.map((f) => `${f}=()`).join(", ");

/**
 * The headers TLS-4 and HDR-1..4 require on every HTTPS response, as a browser reads them. The pack judges the
 * value nginx's add_header sets, verify the value a response carries; both with these judges.
 */
export const REQUIRED_HEADERS = {
    "TLS-4": {
        name: "Strict-Transport-Security",
        wants: `max-age >= ${HSTS_MIN_MAX_AGE}; includeSubDomains`,
        sent: `max-age=${HSTS_MAX_AGE}; includeSubDomains`,
        ok: (v: string) => hstsMaxAge(v) >= HSTS_MIN_MAX_AGE && hstsIncludesSubDomains(v),
    },
    "HDR-1": { name: "X-Content-Type-Options", wants: "nosniff", sent: "nosniff", ok: (v: string) => v === "nosniff" },
    "HDR-2": { name: "X-Frame-Options", wants: "DENY", sent: "DENY", ok: (v: string) => /^(DENY|SAMEORIGIN)$/i.test(v) },
    "HDR-3": { name: "Referrer-Policy", wants: "strict-origin-when-cross-origin", sent: "strict-origin-when-cross-origin", ok: (v: string) => REFERRER_OK.includes(effectiveReferrerPolicy(v) ?? "") },
    "HDR-4": {
        name: "Permissions-Policy",
        wants: DENIED,
        sent: `${DENIED}, payment=(), usb=()`,
        ok: (v: string) => DENIED_FEATURES.every((f) => deniesFeature(v, f)),
    },
} as const satisfies Record<string, RequiredHeader>;
