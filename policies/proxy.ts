/**
 * The reverse proxy (TLS-1..6, HDR-1..6, RL-1..2, PX-1..3), judged on the nginx files and certificate steps the
 * remote steps ship.
 */
import * as path from "path";
import { directive, directives, HostFile, hostFiles, hostIndex, hostScripts, NginxDirective, parseNginx, ResourceLike } from "./parse";
import { appJails } from "./app";
import { applicationLoadBalancers, AWS_TARGET_GROUPS, hcloudServices } from "./fleet";
import { isLocalOrPrivate, isWideSource } from "./network";
import { ChecklistPolicy, Context, firstStep, hasHosts, stackPolicy } from "./support";
import { HSTS_MIN_MAX_AGE, hstsIncludesSubDomains, hstsMaxAge, REQUIRED_HEADERS } from "../lib/controls";

type Site = { file: HostFile; https: NginxDirective[]; http: NginxDirective[] };

/** A server speaks TLS when one of its listen directives says ssl (or quic), or with the old `ssl on;`. */
const isTls = (server: NginxDirective) => directives(server.block, "listen").some((l) => l.args.includes("ssl") || l.args.includes("quic")) || directive(server.block, "ssl")?.args[0] === "on";

/**
 * A server answers plain HTTP when one of its listen directives lacks ssl, or when it has none at all (nginx then
 * listens on *:80). A server may do both: `listen 80; listen 443 ssl;` serves the same content on both.
 */
const isPlain = (server: NginxDirective) => {
    if (directive(server.block, "ssl")?.args[0] === "on") return false;
    const listens = directives(server.block, "listen");
    return listens.length === 0 || listens.some((l) => !l.args.includes("ssl") && !l.args.includes("quic"));
};

/**
 * The address an nginx `listen` binds: `80` and `*:80` every address ("*"), `10.0.0.10:80` and `[::1]:443` that one,
 * `unix:/run/x.sock` a socket ("unix"), `localhost:80` loopback.
 */
export function listenAddress(listen: NginxDirective): string {
    const arg = listen.args[0] ?? "80";
    if (arg.startsWith("unix:")) return "unix";
    const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(arg);
    if (v6) return v6[1];
    if (/^\d+$/.test(arg)) return "*";
    const host = arg.replace(/:\d+$/, "");
    return host === "*" ? "*" : host;
}

/**
 * A server that only the private network or the host itself can reach: every listen binds a loopback or private
 * address, or a unix socket (a load balancer's health listener). A server without listen is on *:80.
 */
export const privateOnly = (server: NginxDirective) => {
    const listens = directives(server.block, "listen");
    return listens.length > 0 && listens.every((l) => ["unix"].includes(listenAddress(l)) || isLocalOrPrivate(listenAddress(l)));
};

/**
 * The http block of Debian's stock /etc/nginx/nginx.conf, as far as the checklist cares: the conf.d files are
 * included into it, so their http-level settings meet these. `ssl_protocols` is a bitmask that nginx ORs over
 * repeated directives of one level, so a conf.d `ssl_protocols TLSv1.2 TLSv1.3;` still leaves TLSv1 and TLSv1.1
 * on; only a server-level ssl_protocols (or a shipped nginx.conf) replaces them.
 */
export const DEBIAN_NGINX_HTTP = "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\nssl_prefer_server_ciphers on;\n";

/** Files nginx loads into its http context: Debian's nginx.conf includes conf.d/*.conf and sites-enabled/*. */
const inHttpContext = (path: string) => path === "/etc/nginx/nginx.conf" || /^\/etc\/nginx\/conf\.d\/[^/]+\.conf$/.test(path) || path.startsWith("/etc/nginx/sites-");

/**
 * Every server block the steps ship, in any file nginx loads (a site, an http-context file, nginx.conf's http
 * block), and the http context's own directives (inherited by every server). Reports once when hosts exist but
 * no site is shipped.
 */
/** A file's directives at the http level: nginx.conf's http block, or the whole of a conf.d file or site. */
const top = (f: HostFile) => (f.path === "/etc/nginx/nginx.conf" ? directive(parseNginx(f.content), "http")?.block ?? [] : parseNginx(f.content));

function nginx(resources: readonly ResourceLike[], ctx: Context): { sites: Site[]; httpConf: NginxDirective[] } {
    const files = hostFiles(resources).filter((f) => inHttpContext(f.path));
    const sites = files
        .map((file) => {
            const servers = directives(top(file), "server");
            return { file, https: servers.filter(isTls), http: servers.filter(isPlain) };
        })
        .filter((s) => s.https.length + s.http.length > 0);
    if (!sites.some((s) => s.file.path.startsWith("/etc/nginx/sites-")) && hasHosts(resources)) {
        const at = firstStep(resources);
        if (at) ctx.missing("no remote step ships an nginx site; keep the ReverseProxy component.", at);
    }
    const base = files.some((f) => f.path === "/etc/nginx/nginx.conf") ? [] : parseNginx(DEBIAN_NGINX_HTTP);
    const httpConf = [...base, ...files.filter((f) => !f.path.startsWith("/etc/nginx/sites-")).flatMap((f) => top(f).filter((d) => d.name !== "server"))];
    return { sites, httpConf };
}

/** A server-level setting, with the http-context file as fallback (nginx's inheritance). */
const setting = (server: NginxDirective, httpConf: NginxDirective[], name: string) => directive(server.block, name) ?? directive(httpConf, name);

/**
 * The directives of one name that take effect at the innermost level of a chain of blocks (http, server, the
 * locations down to the one judged): nginx inherits a setting, and an array setting such as limit_req or
 * proxy_set_header as a whole, from the nearest enclosing level that has it.
 */
const inherited = (chain: readonly (NginxDirective[] | undefined)[], name: string) => {
    for (let i = chain.length - 1; i >= 0; i--) if (directives(chain[i], name).length) return directives(chain[i], name);
    return [];
};

/** Every location of a server, nested ones too, with the chain of blocks it inherits from and a name for messages. */
function locations(server: NginxDirective, httpConf: NginxDirective[]): { loc: NginxDirective; chain: (NginxDirective[] | undefined)[]; where: string }[] {
    const out: { loc: NginxDirective; chain: (NginxDirective[] | undefined)[]; where: string }[] = [];
    const walk = (block: NginxDirective[] | undefined, chain: (NginxDirective[] | undefined)[], prefix: string) => {
        for (const loc of directives(block, "location")) {
            const where = `${prefix}location ${loc.args.join(" ")}`;
            out.push({ loc, chain: [...chain, loc.block], where });
            walk(loc.block, [...chain, loc.block], `${where} > `);
        }
    };
    walk(server.block, [httpConf, server.block], "");
    return out;
}

const ALL_PROTOCOLS = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/**
 * The protocols an HTTPS server offers: the union of the ssl_protocols directives of the level that takes effect
 * (nginx ORs repeated ones), then OpenSSL's `ssl_conf_command Protocol` list of that level, applied after them,
 * which may switch protocols back on (`ALL`, `+TLSv1`) or off (`-TLSv1.1`). Undefined when nothing sets them.
 */
export function offeredProtocols(server: NginxDirective, httpConf: NginxDirective[]): Set<string> | undefined {
    const set = inherited([httpConf, server.block], "ssl_protocols");
    let offered = set.length ? new Set(set.flatMap((d) => d.args)) : undefined;
    for (const c of inherited([httpConf, server.block], "ssl_conf_command").filter((d) => d.args[0]?.toLowerCase() === "protocol")) {
        offered ??= new Set(ALL_PROTOCOLS.slice(1));
        for (const item of (c.args[1] ?? "").split(",").map((x) => x.trim()).filter(Boolean)) {
            const name = item.replace(/^[-+]/, "");
            for (const n of name.toUpperCase() === "ALL" ? ALL_PROTOCOLS : [name]) {
                if (item.startsWith("-")) offered.delete(n);
                else offered.add(n);
            }
        }
    }
    return offered;
}

/**
 * The TLS 1.2 cipher string an HTTPS server uses: OpenSSL's `ssl_conf_command CipherString` when set (applied
 * after ssl_ciphers, so it wins), else ssl_ciphers.
 */
const cipherString = (server: NginxDirective, httpConf: NginxDirective[]) => {
    const command = inherited([httpConf, server.block], "ssl_conf_command").filter((d) => d.args[0]?.toLowerCase() === "cipherstring").slice(-1)[0];
    if (command) return { value: command.args[1] ?? "", via: "ssl_conf_command CipherString" };
    const c = setting(server, httpConf, "ssl_ciphers");
    return c ? { value: c.args.join(":"), via: "ssl_ciphers" } : undefined;
};

/**
 * The elements of an OpenSSL cipher string that admit something other than ECDHE with AEAD. Exclusions (`!x`,
 * `-x`), reordering (`+x`) and `@STRENGTH`/`@SECLEVEL=n` admit nothing; a full suite name must be ECDHE with
 * AES-GCM or ChaCha20-Poly1305; an alias intersection (`ECDHE+AESGCM`) must name ECDHE key exchange (ECDHE,
 * EECDH, kECDHE; OpenSSL has no anonymous ECDH suite with GCM or ChaCha20) and an AEAD cipher (AESGCM, CHACHA20).
 * Any other alias (HIGH, DEFAULT, ALL, ECDHE alone, ...) admits CBC suites and counts.
 */
export function weakCiphers(spec: string): string[] {
    const aead = (t: string) => {
        if (t.includes("+")) {
            const parts = t.split("+");
            return parts.some((p) => /^k?(ECDHE|EECDH)$/.test(p)) && parts.some((p) => /^(AESGCM|CHACHA20)$/.test(p));
        }
        return /^ECDHE-(ECDSA|RSA)-/.test(t) && /(GCM|CHACHA20-POLY1305)/.test(t);
    };
    return spec
        .split(/[:,\s]+/)
        .filter((t) => t && !/^[!\-+@]/.test(t))
        .filter((t) => !aead(t));
}

type Headers = Map<string, { value: string; always: boolean }>;

/** add_header values of one level, by lowercase header name, with whether `always` is set. */
function headers(block: NginxDirective[] | undefined): Headers {
    return new Map(directives(block, "add_header").map((d) => [d.args[0].toLowerCase(), { value: d.args[1] ?? "", always: d.args[2] === "always" }]));
}

/**
 * The headers each part of an HTTPS server sends, by nginx's inheritance: a level inherits add_header from the
 * level above only when it has none of its own, so the server takes the http context's, a location the server's
 * (or its parent location's), and an `if` block its location's. Each scope is named for the messages.
 */
function headerScopes(server: NginxDirective, httpConf: NginxDirective[]): { where: string; own: boolean; headers: Headers }[] {
    const scopes: { where: string; own: boolean; headers: Headers }[] = [];
    const serverHeaders = headers(server.block).size ? headers(server.block) : headers(httpConf);
    scopes.push({ where: "server", own: true, headers: serverHeaders });
    const walk = (block: NginxDirective[] | undefined, inherited: Headers, prefix: string) => {
        for (const d of (block ?? []).filter((x) => x.name === "location" || x.name === "if")) {
            const own = headers(d.block);
            const effective = own.size ? own : inherited;
            const where = `${prefix}${d.name === "location" ? `location ${d.args.join(" ")}` : `if ${d.args.join(" ")}`}`;
            scopes.push({ where, own: own.size > 0, headers: effective });
            walk(d.block, effective, `${where} > `);
        }
    };
    walk(server.block, serverHeaders, "");
    return scopes;
}

function eachHttps(resources: readonly ResourceLike[], ctx: Context, check: (server: NginxDirective, site: Site, httpConf: NginxDirective[], report: (m: string) => void) => void): void {
    const { sites, httpConf } = nginx(resources, ctx);
    for (const site of sites) {
        for (const server of site.https) check(server, site, httpConf, (m) => ctx.report(`${site.file.path} (${site.file.from.name}): ${m}`, site.file.from));
    }
}

/**
 * Checks one header in every scope of every HTTPS server: the server's own (or inherited) value, and each location
 * that sets its own headers and so drops it.
 */
function eachHeaderScope(server: NginxDirective, httpConf: NginxDirective[], header: string, report: (m: string) => void, judge: (h: { value: string; always: boolean } | undefined, where: string) => void, dropped: (where: string) => string): void {
    for (const scope of headerScopes(server, httpConf)) {
        const h = scope.headers.get(header.toLowerCase());
        if (scope.where === "server") judge(h, scope.where);
        else if (scope.own && !h) report(dropped(scope.where));
        else if (scope.own && h) judge(h, scope.where);
    }
}

/** HDR-1..4: the header lib/controls.ts names, judged there, with the value the proxy sends as the fix. */
function headerPolicy(id: "HDR-1" | "HDR-2" | "HDR-3" | "HDR-4", slug: string, severity: "high" | "medium"): ChecklistPolicy {
    const { name: header, wants: expected, ok } = REQUIRED_HEADERS[id];
    return stackPolicy({
        id,
        slug,
        description: `Every HTTPS response carries ${header}: ${expected}.`,
        severity,
        remediation: `add_header ${header} "${expected}" always; in the HTTPS server block, and no location-level add_header that drops it.`,
        check: (resources, ctx) =>
            eachHttps(resources, ctx, (server, _site, httpConf, report) =>
                eachHeaderScope(
                    server,
                    httpConf,
                    header,
                    report,
                    (h, where) => {
                        const at = where === "server" ? "" : ` in ${where}`;
                        if (!h || !ok(h.value)) report(`${header} is ${h ? `"${h.value}"` : "not set"}${at}; add add_header ${header} "${expected}" always.`);
                        else if (!h.always) report(`${header} is sent without "always"${at}, so error responses lack it; add always.`);
                    },
                    (where) => `${where} sets its own headers and so drops ${header}; repeat it there or remove the location's add_header.`,
                ),
            ),
    });
}

export const tls1: ChecklistPolicy = stackPolicy({
    id: "TLS-1",
    slug: "http-redirects-to-https",
    description: "Plain HTTP answers only with a 301 to https (or closes with 444), except the ACME challenge path: every server that listens without ssl, one with no listen at all (nginx's *:80), and a plain listen beside an ssl one. A server bound only to loopback or private addresses (a load balancer's health listener) is not public.",
    severity: "high",
    remediation: "In the port-80 server keep only the ACME challenge location and `return 301 https://$host$request_uri;`.",
    check: (resources, ctx) => {
        const { sites } = nginx(resources, ctx);
        for (const site of sites) {
            for (const server of site.http.filter((s) => !privateOnly(s))) {
                const report = (m: string) => ctx.report(`${site.file.path} (${site.file.from.name}): ${m}`, site.file.from);
                // A 301 to https, or 444 (nginx closes the connection without answering).
                const redirect = (b: NginxDirective[] | undefined) => directives(b, "return").some((r) => (r.args[0] === "301" && /^https:\/\//.test(r.args[1] ?? "")) || r.args[0] === "444");
                let redirects = redirect(server.block);
                for (const loc of directives(server.block, "location")) {
                    const path = loc.args[loc.args.length - 1];
                    if (/^\/\.well-known\/acme-challenge\/?$/.test(path)) continue;
                    if (redirect(loc.block)) {
                        redirects = redirects || path === "/";
                        continue;
                    }
                    report(`the port-80 location ${loc.args.join(" ")} serves content instead of redirecting; make it return 301 https://$host$request_uri.`);
                }
                if (!redirects) report("the port-80 server does not redirect to https; add return 301 https://$host$request_uri.");
                if (directive(server.block, "proxy_pass") || directive(server.block, "root")) report("the port-80 server serves content; only redirect there.");
            }
        }
    },
});

export const tls2: ChecklistPolicy = stackPolicy({
    id: "TLS-2",
    slug: "tls-1-2-or-newer",
    description: "Each HTTPS server offers only TLSv1.2 and TLSv1.3: the ssl_protocols that take effect (repeated ones are ORed, and an http-level one with Debian's nginx.conf), and any ssl_conf_command Protocol applied after them.",
    severity: "critical",
    remediation: "ssl_protocols TLSv1.2 TLSv1.3; in every HTTPS server block.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const offered = offeredProtocols(server, httpConf);
            const weak = [...(offered ?? [])].filter((v) => v !== "TLSv1.2" && v !== "TLSv1.3");
            if (!offered) report("ssl_protocols is not set, so nginx's default (with TLSv1 and TLSv1.1) applies; set ssl_protocols TLSv1.2 TLSv1.3 in the server.");
            else if (weak.length) {
                const how = directives(server.block, "ssl_protocols").length ? "" : " (the server sets no ssl_protocols, and at the http level Debian's nginx.conf enables TLSv1 and TLSv1.1, ORed with any other http-level ssl_protocols; set it in the server)";
                report(`the server offers ${weak.join(", ")}${how}; allow TLSv1.2 and TLSv1.3 only, and no ssl_conf_command Protocol that adds others.`);
            }
        }),
});

export const tls3: ChecklistPolicy = stackPolicy({
    id: "TLS-3",
    slug: "ecdhe-aead-ciphers",
    description: "TLS 1.2 ciphers are ECDHE with AEAD only (Mozilla intermediate): no aNULL, MD5, RC4, 3DES, CBC; judged on ssl_ciphers or an ssl_conf_command CipherString that overrides it.",
    severity: "high",
    remediation: "Set ssl_ciphers to the Mozilla intermediate ECDHE list (lib/render/nginx.ts MOZILLA_INTERMEDIATE_CIPHERS), and no ssl_conf_command CipherString.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const c = cipherString(server, httpConf);
            if (!c) return report("ssl_ciphers is not set (OpenSSL's defaults include CBC suites); set the Mozilla intermediate ECDHE list.");
            const bad = weakCiphers(c.value);
            if (bad.length) report(`${c.via} includes ${bad.join(", ")}; keep ECDHE suites with AES-GCM or ChaCha20-Poly1305 only.`);
        }),
});

export const tls4: ChecklistPolicy = stackPolicy({
    id: "TLS-4",
    slug: "hsts",
    description: `HSTS with max-age >= ${HSTS_MIN_MAX_AGE} and includeSubDomains on every HTTPS response (always).`,
    severity: "high",
    remediation: `add_header Strict-Transport-Security "${REQUIRED_HEADERS["TLS-4"].sent}" always;`,
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) =>
            eachHeaderScope(
                server,
                httpConf,
                "Strict-Transport-Security",
                report,
                (h, where) => {
                    const at = where === "server" ? "" : ` in ${where}`;
                    if (!h) return report(`Strict-Transport-Security is not sent${at}; add it with ${REQUIRED_HEADERS["TLS-4"].sent}, always.`);
                    const maxAge = hstsMaxAge(h.value);
                    if (maxAge < HSTS_MIN_MAX_AGE) report(`HSTS max-age is ${maxAge}${at}; use at least ${HSTS_MIN_MAX_AGE}.`);
                    if (!hstsIncludesSubDomains(h.value)) report(`HSTS lacks includeSubDomains${at}; add it.`);
                    if (!h.always) report(`HSTS is sent without always${at}; add always so error responses carry it.`);
                },
                (where) => `${where} drops HSTS with its own add_header; repeat it there.`,
            ),
        ),
});

export const tls5: ChecklistPolicy = stackPolicy({
    id: "TLS-5",
    slug: "lets-encrypt-renewal",
    description: "Certificates come from Let's Encrypt (its staging CA for staging, however certbot is told: --staging, --test-cert, --server), renew automatically (no --no-autorenew, certbot.timer left on) and reload nginx on renewal (--deploy-hook or its alias --renew-hook).",
    severity: "high",
    remediation: "Use tlsMode letsencrypt; the ReverseProxy step runs certbot with a deploy hook that reloads nginx (--staging on staging only).",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const runs = hostScripts(resources).flatMap(({ script, from }) => certbotRuns(script).map((words) => ({ words, from, script })));
        const issuing = runs.filter((r) => r.words.some((w) => w === "certonly" || w === "run" || w === "--nginx" || w === "--webroot"));
        const at = firstStep(resources);
        if (issuing.length === 0) {
            if (at) ctx.missing("no remote step obtains a Let's Encrypt certificate (self-signed or missing); set webapp:tlsMode letsencrypt.", at);
            return;
        }
        for (const { words, from } of issuing) {
            const server = flagValue(words, "--server");
            const staging = words.includes("--staging") || words.includes("--test-cert") || /acme-staging/.test(server ?? "");
            if (server && !/^https:\/\/acme(-staging)?-v02\.api\.letsencrypt\.org\/directory$/.test(server)) ctx.report(`${from.name} asks the ACME server ${server}, not Let's Encrypt; drop --server.`, from);
            if (ctx.prod && staging) ctx.report(`${from.name} asks the Let's Encrypt staging CA in prod (${words.find((w) => w === "--staging" || w === "--test-cert") ?? `--server ${server}`}); browsers do not trust it. Drop it.`, from);
            if (!ctx.prod && !staging) ctx.report(`${from.name} asks the production Let's Encrypt CA from staging; use --staging there to stay clear of rate limits.`, from);
            if (!words.some((w) => /^--(deploy|renew)-hook(=|$)/.test(w))) ctx.report(`${from.name} runs certbot without a deploy hook, so renewals do not reach nginx; add --deploy-hook that reloads nginx.`, from);
            if (words.includes("--no-autorenew")) ctx.report(`${from.name} runs certbot with --no-autorenew, so the certificate expires; remove it.`, from);
        }
        for (const { script, from } of hostScripts(resources)) {
            if (/\bsystemctl\s+(disable|mask|stop)\b[^\n]*\bcertbot\.timer\b/.test(script)) ctx.report(`${from.name} stops or disables certbot.timer, so nothing renews the certificate; remove that.`, from);
        }
        const hooks = hostFiles(resources).filter((f) => /certbot-deploy-hook|renewal-hooks\/deploy\//.test(f.path));
        if (!hooks.some((h) => /systemctl (reload|restart|reload-or-restart) nginx|nginx -s reload|service nginx (reload|restart)/.test(h.content)) && at) ctx.missing("no certbot deploy hook reloads nginx; ship one that runs nginx -t && systemctl reload nginx.", at);
    },
});

/** The words of each certbot command line in a script (shell quotes removed), comments skipped. */
export function certbotRuns(script: string): string[][] {
    return script
        .split("\n")
        .map((l) => l.replace(/(^|\s)#.*$/, ""))
        .filter((l) => /(^|[\s;&|])certbot\s/.test(l))
        .map((l) => [...l.slice(l.search(/certbot\s/)).matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]));
}

/** A flag's value in `--flag value` or `--flag=value` form. */
const flagValue = (words: string[], flag: string) => {
    const i = words.findIndex((w) => w === flag || w.startsWith(`${flag}=`));
    return i < 0 ? undefined : words[i].includes("=") ? words[i].slice(flag.length + 1) : words[i + 1];
};

export const tls6: ChecklistPolicy = stackPolicy({
    id: "TLS-6",
    slug: "session-cache-no-tickets",
    description: "TLS session cache on, session tickets off.",
    severity: "medium",
    remediation: "ssl_session_cache shared:<name>:10m; ssl_session_tickets off;",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const cache = setting(server, httpConf, "ssl_session_cache");
            if (!cache || /^(off|none)$/.test(cache.args[0] ?? "")) report("ssl_session_cache is off; set ssl_session_cache shared:<name>:10m.");
            if (setting(server, httpConf, "ssl_session_tickets")?.args[0] !== "off") report("ssl_session_tickets is not off; set ssl_session_tickets off.");
        }),
});

export const hdr1 = headerPolicy("HDR-1", "nosniff", "medium");
export const hdr2 = headerPolicy("HDR-2", "frame-options", "medium");
export const hdr3 = headerPolicy("HDR-3", "referrer-policy", "medium");
export const hdr4 = headerPolicy("HDR-4", "permissions-policy", "medium");

export const hdr5: ChecklistPolicy = stackPolicy({
    id: "HDR-5",
    slug: "content-security-policy",
    description: "A Content-Security-Policy is sent; in prod its script-src (or default-src) allows neither 'unsafe-inline' nor 'unsafe-eval'.",
    severity: "high",
    remediation: "Set webapp:contentSecurityPolicy without 'unsafe-inline'/'unsafe-eval' for scripts (use nonces or hashes).",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) =>
            eachHeaderScope(
                server,
                httpConf,
                "Content-Security-Policy",
                report,
                (csp, where) => {
                    const at = where === "server" ? "" : ` in ${where}`;
                    if (!csp) return report(`Content-Security-Policy is not sent${at}; set webapp:contentSecurityPolicy.`);
                    if (!csp.always) report(`Content-Security-Policy is sent without always${at}; add always.`);
                    if (ctx.prod) for (const problem of scriptSourceProblems(csp.value)) report(`the CSP${at} ${problem}; remove it and use nonces or hashes.`);
                },
                (where) => `${where} sets its own headers and so drops the Content-Security-Policy; repeat it there.`,
            ),
        ),
});

/**
 * What a CSP lets scripts do that the checklist forbids, for each way a browser resolves script sources (CSP
 * Level 3 fallbacks): `<script>` elements by script-src-elem, then script-src, then default-src; event handler
 * attributes by script-src-attr, then script-src, then default-src. 'unsafe-inline' counts only where no nonce or
 * hash makes browsers ignore it; 'unsafe-eval', a wildcard or a bare scheme (any host) always count, and so does
 * a policy with no script source at all.
 */
export function scriptSourceProblems(policy: string): string[] {
    const parts = new Map<string, string[]>();
    for (const d of policy.split(";").map((x) => x.trim().split(/\s+/)).filter((x) => x[0])) if (!parts.has(d[0].toLowerCase())) parts.set(d[0].toLowerCase(), d.slice(1));
    const problems: string[] = [];
    const judged = ([["script elements", ["script-src-elem", "script-src", "default-src"]], ["inline event handlers", ["script-src-attr", "script-src", "default-src"]]] as const).map(([kind, chain]) => {
        const name = chain.find((c) => parts.has(c));
        if (!name) return { kind, name: undefined, chain, bad: [] as string[] };
        const values = parts.get(name)!.map((v) => v.toLowerCase());
        // A nonce or a hash makes browsers ignore 'unsafe-inline' in the same directive (CSP Level 2 and later).
        const nonceOrHash = values.some((v) => /^'(nonce|sha256|sha384|sha512)-/.test(v));
        return { kind, name, chain, bad: values.filter((v) => v === "'unsafe-eval'" || v === "*" || /^(https?|data|blob|ws|wss|filesystem):$/.test(v) || (v === "'unsafe-inline'" && !nonceOrHash)) };
    });
    for (const j of judged) {
        if (!j.name) problems.push(`sets no script source (${j.chain.join(", ")}), so ${j.kind} may come from anywhere`);
        else if (j.bad.length) problems.push(`allows ${j.bad.join(" and ")} for ${judged.every((o) => o.name === j.name) ? "scripts" : j.kind} (${j.name})`);
    }
    return [...new Set(problems)];
}

export const hdr6: ChecklistPolicy = stackPolicy({
    id: "HDR-6",
    slug: "server-tokens-off",
    description: "nginx does not announce its version: server_tokens off in the http context or the server, and no location turns it back on.",
    severity: "low",
    remediation: "server_tokens off; in the http-context file.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const tokens = (chain: (NginxDirective[] | undefined)[]) => inherited(chain, "server_tokens")[0]?.args[0] ?? "on (unset: nginx's default)";
            if (tokens([httpConf, server.block]) !== "off") report(`server_tokens is ${tokens([httpConf, server.block])}; set server_tokens off in the http context.`);
            for (const { where, chain } of locations(server, httpConf)) {
                if (directive(chain[chain.length - 1], "server_tokens") && tokens(chain) !== "off") report(`${where} sets server_tokens ${tokens(chain)}; remove it.`);
            }
        }),
});

type Zone = { perSecond: number; key: string };

/** Rate-limit zones of the http context: name -> requests per second and the key requests are counted by. */
function zones(httpConf: NginxDirective[]): Map<string, Zone> {
    return new Map(
        directives(httpConf, "limit_req_zone").flatMap((z) => {
            const name = /zone=([^:]+):/.exec(z.args.join(" "))?.[1];
            const rate = /rate=(\d+)r\/([sm])/.exec(z.args.join(" "));
            return name && rate ? [[name, { perSecond: rate[2] === "m" ? Number(rate[1]) / 60 : Number(rate[1]), key: z.args[0] }] as const] : [];
        }),
    );
}

/**
 * Whether a limit key counts per client address: $binary_remote_addr or $remote_addr, directly or through a map
 * whose every value is one of them or empty (an empty key exempts a request, as an allow-list does).
 */
export function perClientKey(key: string, httpConf: NginxDirective[], seen = new Set<string>()): boolean {
    if (/^\$(binary_)?remote_addr$/.test(key)) return true;
    const map = directives(httpConf, "map").find((m) => m.args[1] === key);
    if (!map || seen.has(key)) return false;
    seen.add(key);
    const values = (map.block ?? []).filter((d) => d.args.length > 0 && !["hostnames", "volatile"].includes(d.name)).map((d) => d.args[0]);
    return values.length > 0 && values.every((v) => v === "" || perClientKey(v, httpConf, seen));
}

/**
 * Where the client address nginx counts comes from a header anyone can send: real_ip_header (X-Real-IP by
 * default, X-Forwarded-For, proxy_protocol) trusted from a source as wide as the internet.
 */
function spoofedAddress(chain: (NginxDirective[] | undefined)[]): string | undefined {
    const trusted = inherited(chain, "set_real_ip_from").map((d) => d.args[0]).filter((a) => a && isWideSource(a));
    if (trusted.length === 0) return undefined;
    return `set_real_ip_from ${trusted.join(", ")} takes the client address from ${inherited(chain, "real_ip_header")[0]?.args[0] ?? "X-Real-IP"}, which any client can set`;
}

/** Each limit_req that applies to a location (its own, or inherited as a whole from the nearest level with any). */
function limitedLocations(server: NginxDirective, httpConf: NginxDirective[]) {
    const z = zones(httpConf);
    return locations(server, httpConf).flatMap(({ loc, chain, where }) =>
        inherited(chain, "limit_req").map((lr) => {
            const name = /zone=(\S+)/.exec(lr.args.join(" "))?.[1] ?? "";
            return {
                loc,
                where,
                zone: name,
                perSecond: z.get(name)?.perSecond,
                key: z.get(name)?.key ?? "",
                burst: Number(/burst=(\d+)/.exec(lr.args.join(" "))?.[1] ?? 0),
                dryRun: inherited(chain, "limit_req_dry_run")[0]?.args[0] === "on",
                status: inherited(chain, "limit_req_status")[0]?.args[0] ?? "503 (unset: nginx's default)",
                spoofed: spoofedAddress(chain),
            };
        }),
    );
}

type Limit = ReturnType<typeof limitedLocations>[number];

/** What keeps a limit from holding per real client: a dry run, a key that is not the client, or a spoofable address. */
function limitProblems(l: Limit, httpConf: NginxDirective[]): string[] {
    const p: string[] = [];
    if (l.dryRun) p.push(`${l.where} runs limit_req_dry_run on, which counts excess requests but lets them through; remove it`);
    if (!perClientKey(l.key, httpConf)) p.push(`zone ${l.zone} (${l.where}) counts requests by ${l.key || "an unknown key"}, not per client; key it on $binary_remote_addr`);
    if (l.spoofed) p.push(`${l.where}: ${l.spoofed}; trust only the load balancer's address`);
    return p;
}

const LOGIN_RATE = 5 / 60 + 1e-9;

export const rl1: ChecklistPolicy = stackPolicy({
    id: "RL-1",
    slug: "login-rate-limit",
    description: "The login path is rate limited per client IP: at most 5 requests/minute, burst at most 5, excess answered 429; a limit in dry-run mode, keyed on anything but the client address, or on an address any client can set does not count.",
    severity: "high",
    remediation: "limit_req_zone $binary_remote_addr zone=<app>_login:10m rate=5r/m; in http, limit_req zone=<app>_login burst=4 nodelay; in the login location, limit_req_status 429.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const login = limitedLocations(server, httpConf).filter((l) => l.perSecond !== undefined && l.perSecond <= LOGIN_RATE);
            if (login.length === 0) report("no location is limited to <= 5 requests per minute per client; rate limit the login path.");
            for (const l of login) {
                if (l.burst > 5) report(`${l.where} allows a burst of ${l.burst}; use at most 5.`);
                if (l.status !== "429") report(`${l.where} answers limited requests ${l.status}; set limit_req_status 429.`);
                for (const p of limitProblems(l, httpConf)) report(`${p}.`);
            }
        }),
});

export const rl2: ChecklistPolicy = stackPolicy({
    id: "RL-2",
    slug: "api-rate-limit",
    description: "The API prefix is rate limited per client IP (default 10 r/s, burst 20), with the same conditions as RL-1 on the key, the address and dry runs.",
    severity: "medium",
    remediation: "limit_req_zone $binary_remote_addr zone=<app>_api:10m rate=10r/s; and limit_req zone=<app>_api burst=20 nodelay; in the API location.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const api = limitedLocations(server, httpConf).filter((l) => l.perSecond !== undefined && l.perSecond > LOGIN_RATE);
            if (api.length === 0) report("no API location is rate limited per client; add limit_req to the API prefix.");
            for (const l of api) for (const p of limitProblems(l, httpConf)) report(`${p}.`);
        }),
});

const FORWARDED = ["Host", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto"];

export const px1: ChecklistPolicy = stackPolicy({
    id: "PX-1",
    slug: "proxy-headers-timeouts",
    description: "Every proxying location passes Host, X-Real-IP, X-Forwarded-For and X-Forwarded-Proto (proxy_set_header is inherited as a whole, only by a level that sets none), and connect/send/read timeouts are set.",
    severity: "medium",
    remediation: "proxy_set_header for the four headers and proxy_connect_timeout/proxy_send_timeout/proxy_read_timeout in the HTTPS server, and no location-level proxy_set_header that drops them.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            for (const { chain, where } of locations(server, httpConf).filter((l) => directive(l.loc.block, "proxy_pass"))) {
                // An empty value means nginx does not send the header.
                const set = new Set(inherited(chain, "proxy_set_header").filter((d) => (d.args[1] ?? "") !== "").map((d) => d.args[0].toLowerCase()));
                const missing = FORWARDED.filter((h) => !set.has(h.toLowerCase()));
                if (missing.length) report(`${where} does not pass ${missing.join(", ")}; add proxy_set_header for them.`);
            }
            const missingTimeouts = ["proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout"].filter((t) => !setting(server, httpConf, t));
            if (missingTimeouts.length) report(`${missingTimeouts.join(", ")} not set; set them (default 60s).`);
        }),
});

/** Requests for dotfiles that must be refused, at the top and under the app's prefixes. */
const DOTFILE_PROBES = ["/.env", "/.git/config", "/api/.env", "/uploads/.htaccess", "/static/.git/HEAD"];

/** Whether a location refuses what it matches: deny all, return 403/404/444, or internal (404 to clients). */
const refuses = (loc: NginxDirective) => directives(loc.block, "deny").some((d) => d.args[0] === "all") || ["403", "404", "444"].includes(directive(loc.block, "return")?.args[0] ?? "") || !!directive(loc.block, "internal");

/**
 * The top-level location of a server that answers a URI, by nginx's rules: an exact `=` match wins; otherwise the
 * longest prefix, which ends the search when it is `^~`; otherwise the first regex location (`~`, `~*`) in the
 * order written that matches; otherwise that longest prefix. Patterns nginx's PCRE reads but JavaScript does not
 * count as not matching.
 */
export function matchLocation(server: NginxDirective, uri: string): NginxDirective | undefined {
    const locs = directives(server.block, "location");
    const exact = locs.find((l) => l.args[0] === "=" && l.args[1] === uri);
    if (exact) return exact;
    const prefixes = locs.filter((l) => (l.args.length === 1 || l.args[0] === "^~") && uri.startsWith(l.args[l.args.length - 1]));
    const longest = prefixes.sort((a, b) => b.args[b.args.length - 1].length - a.args[a.args.length - 1].length)[0];
    if (longest?.args[0] === "^~") return longest;
    const regex = locs.find((l) => {
        if (l.args[0] !== "~" && l.args[0] !== "~*") return false;
        try {
            return new RegExp(l.args[1] ?? "", l.args[0] === "~*" ? "i" : "").test(uri);
        } catch {
            return false;
        }
    });
    return regex ?? longest;
}

export const px2: ChecklistPolicy = stackPolicy({
    id: "PX-2",
    slug: "dotfiles-and-uploads",
    description: "Dotfiles (/.env, /.git) are refused wherever they are asked for, by the location nginx picks for them (exact, ^~ and longest prefix, then regexes in order); an uploads location is internal or serves files without execution.",
    severity: "high",
    remediation: "Keep `location ~ /\\. { return 404; }` and make file locations internal or `types { } default_type application/octet-stream;`.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, _h, report) => {
            const locs = directives(server.block, "location");
            for (const uri of DOTFILE_PROBES) {
                const loc = matchLocation(server, uri);
                if (!loc) report(`no location answers ${uri}, so nginx serves it from its root; add location ~ /\\. { return 404; }.`);
                else if (!refuses(loc)) report(`${uri} is answered by location ${loc.args.join(" ")}, which does not refuse it${loc.args[0] === "^~" ? " (^~ stops nginx from checking the dotfile regex)" : ""}; add location ~ /\\. { return 404; } before other regex locations, and no ^~ prefix that serves files.`);
            }
            for (const l of locs.filter((l) => directive(l.block, "alias") || directive(l.block, "root"))) {
                const internal = !!directive(l.block, "internal");
                const inert = directive(l.block, "default_type")?.args[0] === "application/octet-stream" && directive(l.block, "types") !== undefined;
                if (!internal && !inert) report(`location ${l.args.join(" ")} serves files with their types; make it internal or add types { } default_type application/octet-stream.`);
            }
        }),
});

export const px3: ChecklistPolicy = stackPolicy({
    id: "PX-3",
    slug: "body-size-limit",
    description: "Request bodies are limited (client_max_body_size, default 10m; 0 disables the limit) in the server and every location.",
    severity: "medium",
    remediation: "client_max_body_size 10m; in the HTTPS server (webapp:clientMaxBodySize).",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const size = setting(server, httpConf, "client_max_body_size")?.args[0];
            const unlimited = (v: string | undefined) => /^0+[kmg]?$/i.test(v ?? "");
            if (!size) report("client_max_body_size is not set; set webapp:clientMaxBodySize.");
            else if (unlimited(size)) report("client_max_body_size 0 disables the limit; set a size such as 10m.");
            for (const { loc, where } of locations(server, httpConf)) {
                if (unlimited(directive(loc.block, "client_max_body_size")?.args[0])) report(`${where} sets client_max_body_size 0, which disables the limit there; set a size.`);
            }
        }),
});

/** The port an nginx `listen` takes (80 when it names none). */
const listenPort = (listen: NginxDirective) => {
    const arg = listen.args[0] ?? "80";
    const m = /(?:^|:)(\d+)$/.exec(arg);
    return arg.startsWith("unix:") ? undefined : m ? Number(m[1]) : 80;
};

/**
 * What the load balancers in front of nginx hand it, per destination port: the PROXY protocol header (hcloud tcp
 * services with proxyprotocol, AWS target groups with proxyProtocolV2), a forwarded header (hcloud http services, AWS
 * application load balancers), or nothing but their own address (a tcp service without the header).
 */
function balancedPorts(resources: readonly ResourceLike[], report: (m: string, r: ResourceLike) => void): Map<number, "proxy_protocol" | "X-Forwarded-For"> {
    const ports = new Map<number, "proxy_protocol" | "X-Forwarded-For">();
    for (const s of hcloudServices(resources)) {
        if (s.protocol === "tcp" && !s.proxyprotocol) {
            report(`${s.resource.name} passes TCP to port ${s.destinationPort} without the PROXY protocol header, so nginx, its rate limits and fail2ban see every client as the load balancer; set proxyprotocol: true and listen ... proxy_protocol.`, s.resource);
        } else {
            ports.set(s.destinationPort, s.protocol === "tcp" ? "proxy_protocol" : "X-Forwarded-For");
        }
    }
    // AWS network load balancers: TCP and TLS target groups. Without the PROXY header a server sees the client only
    // while client address preservation is on (the default for instance targets), and then its security group must
    // admit the internet (NET-6).
    for (const tg of resources.filter((r) => AWS_TARGET_GROUPS.includes(r.type))) {
        const protocol = String(tg.props.protocol ?? "").toUpperCase();
        if (!["TCP", "TLS", "TCP_UDP"].includes(protocol)) continue;
        const port = Number(tg.props.port);
        const preserved = String(tg.props.preserveClientIp ?? (tg.props.targetType === "ip" ? "false" : "true")) === "true";
        if (tg.props.proxyProtocolV2 === true) ports.set(port, "proxy_protocol");
        else if (!preserved) report(`${tg.name} passes ${protocol} to port ${port} without the PROXY protocol header and with client address preservation off, so nginx, its rate limits and fail2ban see every client as the load balancer; set proxyProtocolV2: true and listen ... proxy_protocol.`, tg);
    }
    if (applicationLoadBalancers(resources).length) for (const p of [80, 443]) if (!ports.has(p)) ports.set(p, "X-Forwarded-For");
    return ports;
}

export const px4: ChecklistPolicy = stackPolicy({
    id: "PX-4",
    slug: "real-client-address-behind-load-balancer",
    description:
        "Behind a load balancer nginx takes each client's address from what the load balancer sends (the PROXY protocol header on a proxy_protocol listen, or X-Forwarded-For) and believes it only from the load balancer's address, so rate limits, the access log and fail2ban see clients, never the load balancer: a ban of its address would take the site down. The app jail bans in nginx (nginx-block-map, mapped on $remote_addr and refused in every server the load balancer reaches), since a firewall ban of a client's address stops nothing when every packet comes from the load balancer.",
    severity: "high",
    remediation: "listen <private address>:443 ssl proxy_protocol; set_real_ip_from <load balancer address>; real_ip_header proxy_protocol; in every server the load balancer reaches, with proxyprotocol: true on the hcloud service; the app jail with action = nginx-block-map[blck_lst_file=...], that file in a map $remote_addr, and if ($banned) { return 403; } in those servers (lib/render/fail2ban.ts, lib/render/nginx.ts).",
    check: (resources, ctx) => {
        const ports = balancedPorts(resources, (m, r) => ctx.report(m, r));
        // A load balancer the stack does not create (existing hosts behind yours) shows in nginx: a proxy_protocol listen.
        const readsProxyHeader = hostFiles(resources).some((f) => f.path.startsWith("/etc/nginx/") && f.content.includes("proxy_protocol"));
        if (ports.size === 0 && !readsProxyHeader) return;
        const { sites, httpConf } = nginx(resources, ctx);
        for (const site of sites) {
            for (const server of [...site.https, ...site.http]) {
                for (const listen of directives(server.block, "listen")) {
                    const port = listenPort(listen);
                    if (port !== undefined && listen.args.includes("proxy_protocol") && !ports.has(port)) ports.set(port, "proxy_protocol");
                }
            }
        }
        const reached: { site: Site; server: NginxDirective }[] = [];
        for (const site of sites) {
            for (const server of [...site.https, ...site.http.filter((s) => !site.https.includes(s))]) {
                const report = (m: string) => ctx.report(`${site.file.path} (${site.file.from.name}): ${m}`, site.file.from);
                for (const listen of directives(server.block, "listen")) {
                    const header = ports.get(listenPort(listen) ?? -1);
                    if (!header) continue;
                    reached.push({ site, server });
                    if (header === "proxy_protocol" && !listen.args.includes("proxy_protocol")) report(`listen ${listen.args.join(" ")} does not read the load balancer's PROXY header; add proxy_protocol.`);
                    const scopes = [{ where: "the server", chain: [httpConf, server.block] as (NginxDirective[] | undefined)[] }, ...locations(server, httpConf).filter((l) => directive(l.chain[l.chain.length - 1], "real_ip_header") || directive(l.chain[l.chain.length - 1], "set_real_ip_from"))];
                    for (const { where, chain } of scopes) {
                        const taken = inherited(chain, "real_ip_header")[0]?.args[0] ?? "X-Real-IP (unset: nginx's default, and only with set_real_ip_from)";
                        const trusted = inherited(chain, "set_real_ip_from").map((d) => d.args[0]);
                        if (trusted.length === 0) report(`${where} on port ${listenPort(listen)} sees the load balancer's address for every client (no set_real_ip_from); set_real_ip_from <load balancer address>; real_ip_header ${header};`);
                        else if (taken.toLowerCase() !== header.toLowerCase()) report(`${where} on port ${listenPort(listen)} takes the client address from ${taken}, but the load balancer sends ${header}; real_ip_header ${header};`);
                        const wide = trusted.filter((a) => isWideSource(a) || a === "unix:");
                        if (wide.length) report(`${where} believes client addresses from ${wide.join(", ")}, which anyone can send; set_real_ip_from only the load balancer's address.`);
                    }
                    break;
                }
            }
        }
        if (reached.length) bansBehindLoadBalancer(hostFiles(resources), reached, (m, r) => ctx.report(m, r));
    },
});

/** The file fail2ban's nginx-block-map action writes, from the action's parameters (its defaults otherwise). */
function blockMapFile(action: string): string | undefined {
    const m = /(?:^|\s)nginx-block-map(?:\[([^\]]*)\])?/.exec(action);
    if (!m) return undefined;
    const params = new Map([...(m[1] ?? "").matchAll(/(\w+)\s*=\s*("[^"]*"|'[^']*'|[^,]*)/g)].map((p) => [p[1], p[2].trim().replace(/^["']|["']$/g, "")]));
    const cfgPath = params.get("srv_cfg_path") ?? "/etc/nginx/";
    return path.posix.normalize((params.get("blck_lst_file") ?? "%(srv_cfg_path)s/blacklisted-sessions.map").replace("%(srv_cfg_path)s", cfgPath));
}

/**
 * Behind a load balancer every packet comes from its address: the app jail's ban must act where the client's
 * address is known, in nginx. Its action must be nginx-block-map, nginx must map $remote_addr (the address from
 * the PROXY header) through that list, and every server the load balancer reaches must refuse a listed address.
 */
function bansBehindLoadBalancer(all: readonly HostFile[], reached: { site: Site; server: NginxDirective }[], report: (m: string, r: ResourceLike) => void) {
    // Judged per app server: the files of the steps with its index in their names (host-1-fail2ban, proxy-1-nginx).
    for (const host of new Set(reached.map((r) => hostIndex(r.site.file)))) {
        const files = all.filter((f) => hostIndex(f) === host || (host === undefined && !f.from.name.startsWith("db-")));
        // The host's own http context: its conf.d files, and nginx.conf's http block if a step ships it.
        const http = files.filter((f) => inHttpContext(f.path) && !f.path.startsWith("/etc/nginx/sites-")).flatMap(top);
        bansOnHost(files, http, reached.filter((r) => hostIndex(r.site.file) === host), report);
    }
}

function bansOnHost(files: readonly HostFile[], httpConf: NginxDirective[], reached: { site: Site; server: NginxDirective }[], report: (m: string, r: ResourceLike) => void) {
    for (const [name, jail] of appJails(files)) {
        // Unset, `action` is jail.conf's %(action_)s (and its variants): the jail's `banaction` with its parameters.
        const own = jail.get("action");
        const action = !own || /^%\(action_\w*\)s$/.test(own.value.trim()) ? jail.get("banaction") : own;
        const from = action?.file?.from ?? own?.file?.from ?? files.find((f) => f.path.startsWith("/etc/fail2ban/jail") && f.content.includes(`[${name}]`))?.from ?? reached[0].site.file.from;
        const list = blockMapFile(action?.value ?? "");
        if (!list) {
            report(`the fail2ban jail [${name}] bans with ${action?.value.trim() || "its ban action"} in the firewall, but behind the load balancer every packet comes from the load balancer, so the ban stops nothing; use action = nginx-block-map[blck_lst_file="/etc/nginx/<app>-banned.map"] and refuse the listed addresses in nginx.`, from);
            continue;
        }
        const maps = directives(httpConf, "map").filter((m) => directives(m.block, "include").some((i) => path.posix.normalize(i.args[0] ?? "") === list));
        const variables = maps.filter((m) => m.args[0] === "$remote_addr").map((m) => m.args[1]);
        if (variables.length === 0) {
            const keyed = maps.map((m) => m.args[0]).join(", ");
            report(`the fail2ban jail [${name}] lists banned clients in ${list}, but ${keyed ? `nginx maps it on ${keyed}, not on $remote_addr (the client address from the PROXY header)` : "no nginx map reads it"}; map $remote_addr $${name}_banned { default 0; include ${list}; }.`, from);
            continue;
        }
        const refuses = (server: NginxDirective) =>
            directives(server.block, "if").some((i) => {
                const cond = i.args.join(" ").replace(/^\(\s*|\s*\)$/g, "");
                const tested = variables.some((v) => new RegExp(`^\\${v}(\\s*(=\\s*"?1"?|!=\\s*"?0"?))?$`).test(cond));
                return tested && directives(i.block, "return").some((r) => /^4\d\d$/.test(r.args[0] ?? ""));
            });
        for (const { site, server } of reached.filter((r) => !refuses(r.server))) {
            report(`${site.file.path} (${site.file.from.name}): the server on ${directives(server.block, "listen").map((l) => l.args[0]).join(", ")} serves clients the fail2ban jail [${name}] has banned; add if (${variables[0]}) { return 403; } to it.`, site.file.from);
        }
    }
}

export const proxyPolicies = [tls1, tls2, tls3, tls4, tls5, tls6, hdr1, hdr2, hdr3, hdr4, hdr5, hdr6, rl1, rl2, px1, px2, px3, px4];
