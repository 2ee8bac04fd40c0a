/**
 * The reverse proxy (TLS-1..6, HDR-1..6, RL-1..2, PX-1..3), judged on the nginx files and certificate steps the
 * remote steps ship.
 */
import { directive, directives, HostFile, hostFiles, hostScripts, NginxDirective, parseNginx, ResourceLike } from "./parse";
import { ChecklistPolicy, Context, firstStep, hasHosts, stackPolicy } from "./support";

type Site = { file: HostFile; https: NginxDirective[]; http: NginxDirective[] };

const isTls = (server: NginxDirective) => directives(server.block, "listen").some((l) => l.args.includes("ssl"));

/** The sites and http-context files; reports once when hosts exist but no site is shipped. */
function nginx(resources: readonly ResourceLike[], ctx: Context): { sites: Site[]; httpConf: NginxDirective[] } {
    const files = hostFiles(resources);
    const sites = files
        .filter((f) => f.path.startsWith("/etc/nginx/sites-"))
        .map((file) => {
            const servers = directives(parseNginx(file.content), "server");
            return { file, https: servers.filter(isTls), http: servers.filter((s) => !isTls(s)) };
        });
    if (sites.length === 0 && hasHosts(resources)) {
        const at = firstStep(resources);
        if (at) ctx.report("no remote step ships an nginx site; keep the ReverseProxy component.", at);
    }
    const httpConf = files.filter((f) => f.path.startsWith("/etc/nginx/conf.d/")).flatMap((f) => parseNginx(f.content));
    return { sites, httpConf };
}

/** A server-level setting, with the http-context file as fallback (nginx's inheritance). */
const setting = (server: NginxDirective, httpConf: NginxDirective[], name: string) => directive(server.block, name) ?? directive(httpConf, name);

/** add_header values of a server, by lowercase header name, with whether `always` is set. */
function headers(block: NginxDirective[] | undefined): Map<string, { value: string; always: boolean }> {
    return new Map(directives(block, "add_header").map((d) => [d.args[0].toLowerCase(), { value: d.args[1] ?? "", always: d.args[2] === "always" }]));
}

/** Locations that set their own add_header lose the server's headers (nginx inheritance). */
const headerDroppingLocations = (server: NginxDirective) => directives(server.block, "location").filter((l) => directives(l.block, "add_header").length > 0);

function eachHttps(resources: readonly ResourceLike[], ctx: Context, check: (server: NginxDirective, site: Site, httpConf: NginxDirective[], report: (m: string) => void) => void): void {
    const { sites, httpConf } = nginx(resources, ctx);
    for (const site of sites) {
        for (const server of site.https) check(server, site, httpConf, (m) => ctx.report(`${site.file.path} (${site.file.from.name}): ${m}`, site.file.from));
    }
}

function headerPolicy(id: "HDR-1" | "HDR-2" | "HDR-3" | "HDR-4", slug: string, header: string, ok: (v: string) => boolean, expected: string, severity: "high" | "medium"): ChecklistPolicy {
    return stackPolicy({
        id,
        slug,
        description: `Every HTTPS response carries ${header}: ${expected}.`,
        severity,
        remediation: `add_header ${header} "${expected}" always; in the HTTPS server block, and no location-level add_header that drops it.`,
        check: (resources, ctx) =>
            eachHttps(resources, ctx, (server, _site, _http, report) => {
                const h = headers(server.block).get(header.toLowerCase());
                if (!h || !ok(h.value)) report(`${header} is ${h ? `"${h.value}"` : "not set"}; add add_header ${header} "${expected}" always.`);
                else if (!h.always) report(`${header} is sent without "always", so error responses lack it; add always.`);
                for (const loc of headerDroppingLocations(server)) if (!headers(loc.block).has(header.toLowerCase())) report(`location ${loc.args.join(" ")} sets its own headers and so drops ${header}; repeat it there or remove the location's add_header.`);
            }),
    });
}

export const tls1: ChecklistPolicy = stackPolicy({
    id: "TLS-1",
    slug: "http-redirects-to-https",
    description: "Port 80 answers only with a 301 to https, except the ACME challenge path.",
    severity: "high",
    remediation: "In the port-80 server keep only the ACME challenge location and `return 301 https://$host$request_uri;`.",
    check: (resources, ctx) => {
        const { sites } = nginx(resources, ctx);
        for (const site of sites) {
            for (const server of site.http) {
                const report = (m: string) => ctx.report(`${site.file.path} (${site.file.from.name}): ${m}`, site.file.from);
                const redirect = (b: NginxDirective[] | undefined) => directives(b, "return").some((r) => r.args[0] === "301" && /^https:\/\//.test(r.args[1] ?? ""));
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
    description: "ssl_protocols allows only TLSv1.2 and TLSv1.3 (set in each HTTPS server, overriding Debian's http-level default).",
    severity: "critical",
    remediation: "ssl_protocols TLSv1.2 TLSv1.3; in every HTTPS server block.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const p = setting(server, httpConf, "ssl_protocols");
            if (!p) report("ssl_protocols is not set, so Debian's default (with TLSv1 and TLSv1.1) applies; set ssl_protocols TLSv1.2 TLSv1.3.");
            else if (p.args.some((v) => v !== "TLSv1.2" && v !== "TLSv1.3")) report(`ssl_protocols allows ${p.args.filter((v) => v !== "TLSv1.2" && v !== "TLSv1.3").join(", ")}; allow TLSv1.2 and TLSv1.3 only.`);
        }),
});

export const tls3: ChecklistPolicy = stackPolicy({
    id: "TLS-3",
    slug: "ecdhe-aead-ciphers",
    description: "TLS 1.2 ciphers are ECDHE with AEAD only (Mozilla intermediate): no aNULL, MD5, RC4, 3DES, CBC.",
    severity: "high",
    remediation: "Set ssl_ciphers to the Mozilla intermediate ECDHE list (lib/render/nginx.ts MOZILLA_INTERMEDIATE_CIPHERS).",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const c = setting(server, httpConf, "ssl_ciphers");
            if (!c) return report("ssl_ciphers is not set (OpenSSL's defaults include CBC suites); set the Mozilla intermediate ECDHE list.");
            const bad = c.args.join(":").split(":").filter((x) => x && !(/^ECDHE-(ECDSA|RSA)-/.test(x) && /(GCM|CHACHA20-POLY1305)/.test(x)));
            if (bad.length) report(`ssl_ciphers includes ${bad.join(", ")}; keep ECDHE suites with AES-GCM or ChaCha20-Poly1305 only.`);
        }),
});

export const tls4: ChecklistPolicy = stackPolicy({
    id: "TLS-4",
    slug: "hsts",
    description: "HSTS with max-age >= 31536000 and includeSubDomains on every HTTPS response (always).",
    severity: "high",
    remediation: 'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;',
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, _h, report) => {
            const h = headers(server.block).get("strict-transport-security");
            const maxAge = Number(/max-age=(\d+)/.exec(h?.value ?? "")?.[1] ?? 0);
            if (!h) report("Strict-Transport-Security is not sent; add it with max-age=63072000; includeSubDomains, always.");
            else {
                if (maxAge < 31536000) report(`HSTS max-age is ${maxAge}; use at least 31536000.`);
                if (!/includeSubDomains/i.test(h.value)) report("HSTS lacks includeSubDomains; add it.");
                if (!h.always) report("HSTS is sent without always; add always so error responses carry it.");
            }
            for (const loc of headerDroppingLocations(server)) if (!headers(loc.block).has("strict-transport-security")) report(`location ${loc.args.join(" ")} drops HSTS with its own add_header; repeat it there.`);
        }),
});

export const tls5: ChecklistPolicy = stackPolicy({
    id: "TLS-5",
    slug: "lets-encrypt-renewal",
    description: "Certificates come from Let's Encrypt (its staging CA for staging), renew automatically and reload nginx on renewal.",
    severity: "high",
    remediation: "Use tlsMode letsencrypt; the ReverseProxy step runs certbot with a deploy hook that reloads nginx (--staging on staging only).",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const steps = hostScripts(resources).filter(({ script }) => /\bcertbot\b.*certonly/.test(script));
        const at = firstStep(resources);
        if (steps.length === 0) {
            if (at) ctx.report("no remote step obtains a Let's Encrypt certificate (self-signed or missing); set webapp:tlsMode letsencrypt.", at);
            return;
        }
        for (const { script, from } of steps) {
            const staging = /'--staging'|--staging\b/.test(script);
            if (ctx.prod && staging) ctx.report(`${from.name} asks the Let's Encrypt staging CA in prod; browsers do not trust it. Drop --staging.`, from);
            if (!ctx.prod && !staging) ctx.report(`${from.name} asks the production Let's Encrypt CA from staging; use --staging there to stay clear of rate limits.`, from);
            if (!/--deploy-hook/.test(script)) ctx.report(`${from.name} runs certbot without a deploy hook, so renewals do not reach nginx; add --deploy-hook that reloads nginx.`, from);
        }
        const hooks = hostFiles(resources).filter((f) => /certbot-deploy-hook|renewal-hooks\/deploy\//.test(f.path));
        if (!hooks.some((h) => /systemctl reload nginx|nginx -s reload/.test(h.content)) && at) ctx.report("no certbot deploy hook reloads nginx; ship one that runs nginx -t && systemctl reload nginx.", at);
    },
});

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

export const hdr1 = headerPolicy("HDR-1", "nosniff", "X-Content-Type-Options", (v) => v === "nosniff", "nosniff", "medium");
export const hdr2 = headerPolicy("HDR-2", "frame-options", "X-Frame-Options", (v) => /^(DENY|SAMEORIGIN)$/i.test(v), "DENY", "medium");
const REFERRER_OK = ["strict-origin-when-cross-origin", "strict-origin", "same-origin", "no-referrer"];
export const hdr3 = headerPolicy("HDR-3", "referrer-policy", "Referrer-Policy", (v) => REFERRER_OK.includes(v.toLowerCase()), "strict-origin-when-cross-origin", "medium");
export const hdr4 = headerPolicy("HDR-4", "permissions-policy", "Permissions-Policy", (v) => ["camera", "microphone", "geolocation"].every((f) => new RegExp(`(^|,\\s*)${f}=\\(\\)`).test(v)), "camera=(), microphone=(), geolocation=()", "medium");

export const hdr5: ChecklistPolicy = stackPolicy({
    id: "HDR-5",
    slug: "content-security-policy",
    description: "A Content-Security-Policy is sent; in prod its script-src (or default-src) allows neither 'unsafe-inline' nor 'unsafe-eval'.",
    severity: "high",
    remediation: "Set webapp:contentSecurityPolicy without 'unsafe-inline'/'unsafe-eval' for scripts (use nonces or hashes).",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, _h, report) => {
            const csp = headers(server.block).get("content-security-policy");
            if (!csp) return report("Content-Security-Policy is not sent; set webapp:contentSecurityPolicy.");
            if (!csp.always) report("Content-Security-Policy is sent without always; add always.");
            if (!ctx.prod) return;
            const parts = new Map(csp.value.split(";").map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map((d) => [d[0], d.slice(1)] as const));
            const scripts = parts.get("script-src") ?? parts.get("default-src") ?? [];
            const unsafe = scripts.filter((v) => v === "'unsafe-inline'" || v === "'unsafe-eval'");
            if (unsafe.length) report(`the CSP allows ${unsafe.join(" and ")} for scripts; remove it and use nonces or hashes.`);
        }),
});

export const hdr6: ChecklistPolicy = stackPolicy({
    id: "HDR-6",
    slug: "server-tokens-off",
    description: "nginx does not announce its version (server_tokens off).",
    severity: "low",
    remediation: "server_tokens off; in the http-context file.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            if (setting(server, httpConf, "server_tokens")?.args[0] !== "off") report("server_tokens is not off; set server_tokens off in the http context.");
        }),
});

/** Rate-limit zones of the http context: name -> requests per second. */
function zones(httpConf: NginxDirective[]): Map<string, number> {
    return new Map(
        directives(httpConf, "limit_req_zone").flatMap((z) => {
            const name = /zone=([^:]+):/.exec(z.args.join(" "))?.[1];
            const rate = /rate=(\d+)r\/([sm])/.exec(z.args.join(" "));
            return name && rate ? [[name, rate[2] === "m" ? Number(rate[1]) / 60 : Number(rate[1])] as const] : [];
        }),
    );
}

function limitedLocations(server: NginxDirective, httpConf: NginxDirective[]) {
    const z = zones(httpConf);
    return directives(server.block, "location").flatMap((loc) =>
        directives(loc.block, "limit_req").map((lr) => {
            const zone = /zone=(\S+)/.exec(lr.args.join(" "))?.[1] ?? "";
            return { loc, perSecond: z.get(zone), burst: Number(/burst=(\d+)/.exec(lr.args.join(" "))?.[1] ?? 0) };
        }),
    );
}

export const rl1: ChecklistPolicy = stackPolicy({
    id: "RL-1",
    slug: "login-rate-limit",
    description: "The login path is rate limited per client IP: at most 5 requests/minute, burst at most 5, excess answered 429.",
    severity: "high",
    remediation: "limit_req_zone $binary_remote_addr zone=<app>_login:10m rate=5r/m; in http, limit_req zone=<app>_login burst=4 nodelay; in the login location, limit_req_status 429.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const login = limitedLocations(server, httpConf).filter((l) => l.perSecond !== undefined && l.perSecond <= 5 / 60 + 1e-9);
            if (login.length === 0) report("no location is limited to <= 5 requests per minute per client; rate limit the login path.");
            for (const l of login) if (l.burst > 5) report(`location ${l.loc.args.join(" ")} allows a burst of ${l.burst}; use at most 5.`);
            if (setting(server, httpConf, "limit_req_status")?.args[0] !== "429") report("limited requests are not answered 429; set limit_req_status 429.");
        }),
});

export const rl2: ChecklistPolicy = stackPolicy({
    id: "RL-2",
    slug: "api-rate-limit",
    description: "The API prefix is rate limited per client IP (default 10 r/s, burst 20).",
    severity: "medium",
    remediation: "limit_req_zone ... rate=10r/s; and limit_req zone=<app>_api burst=20 nodelay; in the API location.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const api = limitedLocations(server, httpConf).filter((l) => l.perSecond !== undefined && l.perSecond > 5 / 60 + 1e-9);
            if (api.length === 0) report("no API location is rate limited per client; add limit_req to the API prefix.");
        }),
});

const FORWARDED = ["Host", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto"];

export const px1: ChecklistPolicy = stackPolicy({
    id: "PX-1",
    slug: "proxy-headers-timeouts",
    description: "The proxy passes Host, X-Real-IP, X-Forwarded-For and X-Forwarded-Proto, and sets connect/send/read timeouts.",
    severity: "medium",
    remediation: "proxy_set_header for the four headers and proxy_connect_timeout/proxy_send_timeout/proxy_read_timeout in the HTTPS server.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, _h, report) => {
            for (const loc of directives(server.block, "location").filter((l) => directive(l.block, "proxy_pass"))) {
                // proxy_set_header in a location replaces the server's set entirely.
                const own = directives(loc.block, "proxy_set_header");
                const set = new Set((own.length ? own : directives(server.block, "proxy_set_header")).map((d) => d.args[0].toLowerCase()));
                const missing = FORWARDED.filter((h) => !set.has(h.toLowerCase()));
                if (missing.length) report(`location ${loc.args.join(" ")} does not pass ${missing.join(", ")}; add proxy_set_header for them.`);
            }
            const missingTimeouts = ["proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout"].filter((t) => !directive(server.block, t));
            if (missingTimeouts.length) report(`${missingTimeouts.join(", ")} not set; set them (default 60s).`);
        }),
});

export const px2: ChecklistPolicy = stackPolicy({
    id: "PX-2",
    slug: "dotfiles-and-uploads",
    description: "Dotfiles (/.env, /.git) are denied; an uploads location is internal or serves files without execution.",
    severity: "high",
    remediation: "Keep `location ~ /\\. { return 404; }` and make file locations internal or `types { } default_type application/octet-stream;`.",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, _h, report) => {
            const locs = directives(server.block, "location");
            const denies = locs.some((l) => l.args[0] === "~" && /^\/\\\.|^\\\//.test(l.args[1] ?? "") && (directive(l.block, "deny") || ["403", "404"].includes(directive(l.block, "return")?.args[0] ?? "")));
            if (!denies) report("no location denies dotfiles; add location ~ /\\. { return 404; }.");
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
    description: "Request bodies are limited (client_max_body_size, default 10m; 0 disables the limit).",
    severity: "medium",
    remediation: "client_max_body_size 10m; in the HTTPS server (webapp:clientMaxBodySize).",
    check: (resources, ctx) =>
        eachHttps(resources, ctx, (server, _s, httpConf, report) => {
            const size = setting(server, httpConf, "client_max_body_size")?.args[0];
            if (!size) report("client_max_body_size is not set; set webapp:clientMaxBodySize.");
            else if (/^0[kmg]?$/i.test(size)) report("client_max_body_size 0 disables the limit; set a size such as 10m.");
        }),
});

export const proxyPolicies = [tls1, tls2, tls3, tls4, tls5, tls6, hdr1, hdr2, hdr3, hdr4, hdr5, hdr6, rl1, rl2, px1, px2, px3];
