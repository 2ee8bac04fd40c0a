/**
 * nginx configuration for the reverse proxy (TLS-1..6, HDR-1..6, RL-1..2, PX-1..3), as two files for Debian's
 * layout: an http-context file for `/etc/nginx/conf.d/` (rate-limit zones must live in the http context, not in a
 * server block as seed 000 has them) and the site for `/etc/nginx/sites-available/`.
 *
 * TLS settings are per server, overriding Debian's http-level `ssl_protocols TLSv1 TLSv1.1 ...` default.
 */
import { bannedMapFile } from "./fail2ban";
import { HSTS_MAX_AGE, HSTS_MIN_MAX_AGE, REQUIRED_HEADERS } from "../controls";

/** Mozilla "intermediate" (TLS 1.2 ciphers), ECDHE key exchange only (TLS-3); TLS 1.3 suites are fixed. */
export const MOZILLA_INTERMEDIATE_CIPHERS = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
];

export const DEFAULT_CSP =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

export type UploadsOptions =
    /** Only the app may hand out uploads (X-Accel-Redirect); direct requests get 404 (seed 002). */
    | { path: string; mode: "internal"; directory: string }
    /** Served as static files, never executed, never sniffed. */
    | { path: string; mode: "static"; directory: string };

export type ReverseProxyOptions = {
    /** Prefix of zone and log names, e.g. the app name. */
    name: string;
    /** Served names; the first is the primary. */
    domains: string[];
    /** App port on 127.0.0.1 (NET-4). */
    upstreamPort: number;
    /** TLS certificate chain and key paths. */
    certificate: { fullchain: string; privkey: string };
    /** ACME HTTP-01 webroot served on port 80. Default `/var/www/acme`. */
    acmeWebroot?: string;
    /** Login path, rate limited per client IP (RL-1). Default `/login`. */
    loginPath?: string;
    /** Login requests per minute per client (RL-1: <= 5). Default 5. */
    loginRatePerMinute?: number;
    /** Login burst (RL-1: <= 5). Default 4: the 6th request within a minute gets 429. */
    loginBurst?: number;
    /** API prefix, rate limited per client IP (RL-2). Default `/api/`. */
    apiPrefix?: string;
    /** API requests per second per client. Default 10. */
    apiRatePerSecond?: number;
    /** API burst. Default 20. */
    apiBurst?: number;
    /** Content-Security-Policy (HDR-5). Default {@link DEFAULT_CSP}. */
    contentSecurityPolicy?: string;
    /** X-Frame-Options (HDR-2). Default `DENY`. */
    frameOptions?: "DENY" | "SAMEORIGIN";
    /** HSTS max-age in seconds (TLS-4: at least {@link HSTS_MIN_MAX_AGE}). Default {@link HSTS_MAX_AGE} (two years). */
    hstsMaxAge?: number;
    /** Request body limit (PX-3), nginx size syntax. Default `10m`. */
    clientMaxBodySize?: string;
    /** Proxy connect/send/read timeout in seconds (PX-1). Default 60. */
    proxyTimeoutSeconds?: number;
    /** Uploads location (PX-2). Default: none. */
    uploads?: UploadsOptions;
    /** Listening ports; tests remap them. Default 80 and 443. */
    ports?: { http: number; https: number };
    /** Behind a load balancer (a fleet of app servers). Default: none, the server takes traffic itself. */
    loadBalancer?: LoadBalancedOptions;
};

/**
 * How nginx runs behind the fleet's load balancer. The load balancer passes TCP through and prepends the PROXY
 * protocol header, so nginx still terminates TLS (the checklist's TLS controls judge nginx as before) and learns
 * each client's address from the header (rate limits, access log, fail2ban: PX-4).
 */
export type LoadBalancedOptions = {
    /**
     * Where the load balancer connects from, the only peers whose PROXY header nginx believes: its private address,
     * or the CIDR of its own subnets (AWS: a network load balancer's nodes take addresses there).
     */
    address: string;
    /** This server's private address: the only address nginx listens on (NET-6). */
    listenAddress: string;
    /** The app's health path, which the load balancer checks. */
    healthPath: string;
    /** Port of the health listener on the private address. Default {@link HEALTH_CHECK_PORT}. */
    healthPort?: number;
    /**
     * The private address of the app server that obtains the fleet's certificate (Let's Encrypt). The load balancer
     * hands an ACME challenge to any server; the others pass it on to this one's health listener, which answers it
     * from its webroot. Default: none (no ACME in the fleet).
     */
    acmeServer?: string;
};

/** The port the load balancer's health checks reach nginx on (private address, no PROXY header). */
export const HEALTH_CHECK_PORT = 8404;

/** While this file exists the health listener answers 503, so the load balancer drains the server. */
export const drainFile = (name: string) => `/run/nginx-${name}.drain`;

export const PERMISSIONS_POLICY = REQUIRED_HEADERS["HDR-4"].sent;

/** Resolves defaults. */
export function withDefaults(o: ReverseProxyOptions): Required<Omit<ReverseProxyOptions, "uploads" | "loadBalancer">> & Pick<ReverseProxyOptions, "uploads" | "loadBalancer"> {
    return {
        acmeWebroot: "/var/www/acme",
        loginPath: "/login",
        loginRatePerMinute: 5,
        loginBurst: 4,
        apiPrefix: "/api/",
        apiRatePerSecond: 10,
        apiBurst: 20,
        contentSecurityPolicy: DEFAULT_CSP,
        frameOptions: "DENY",
        hstsMaxAge: HSTS_MAX_AGE,
        clientMaxBodySize: "10m",
        proxyTimeoutSeconds: 60,
        ports: { http: 80, https: 443 },
        // An argument passed as undefined takes the default too.
        ...(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ReverseProxyOptions),
    };
}

const CSP_DIRECTIVES = new Set([
    "default-src", "script-src", "script-src-elem", "script-src-attr", "style-src", "style-src-elem", "style-src-attr",
    "img-src", "font-src", "connect-src", "media-src", "object-src", "frame-src", "child-src", "worker-src",
    "manifest-src", "base-uri", "form-action", "frame-ancestors", "upgrade-insecure-requests", "report-uri",
    "report-to", "sandbox", "require-trusted-types-for", "trusted-types",
]);

/** Problems with the options, each naming the argument; empty when they are usable. */
export function reverseProxyProblems(o: ReverseProxyOptions): string[] {
    const p = withDefaults(o);
    const problems: string[] = [];
    const path = (key: string, v: string) => {
        if (!/^\/[A-Za-z0-9._~\-/]*$/.test(v)) problems.push(`${key} ${JSON.stringify(v)} must be an absolute URL path of letters, digits and . _ ~ - /`);
    };
    if (p.domains.length === 0) problems.push("domains must name at least one domain");
    for (const d of p.domains) if (!/^[a-z0-9.-]+$/.test(d)) problems.push(`domain ${JSON.stringify(d)} is not a lowercase host name`);
    if (!Number.isInteger(p.upstreamPort) || p.upstreamPort < 1024 || p.upstreamPort > 65535) {
        problems.push(`upstreamPort ${p.upstreamPort} must be an unprivileged port (1024-65535); 80 and 443 belong to nginx`);
    }
    path("loginPath", p.loginPath);
    path("apiPrefix", p.apiPrefix);
    if (p.uploads) path("uploads.path", p.uploads.path);
    if (p.loadBalancer) {
        path("loadBalancer.healthPath", p.loadBalancer.healthPath);
        if (!/^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/.test(p.loadBalancer.address)) problems.push(`loadBalancer.address ${JSON.stringify(p.loadBalancer.address)} must be an IPv4 address or CIDR`);
        if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(p.loadBalancer.listenAddress)) problems.push(`loadBalancer.listenAddress ${JSON.stringify(p.loadBalancer.listenAddress)} must be an IPv4 address`);
    }
    for (const [key, value, max] of [
        ["loginRatePerMinute", p.loginRatePerMinute, 600],
        ["apiRatePerSecond", p.apiRatePerSecond, 10000],
    ] as const) {
        if (!Number.isInteger(value) || value < 1 || value > max) problems.push(`${key} ${value} must be a whole number from 1 to ${max} (0 would block every request)`);
    }
    for (const [key, value] of [["loginBurst", p.loginBurst], ["apiBurst", p.apiBurst]] as const) {
        if (!Number.isInteger(value) || value < 0 || value > 1000) problems.push(`${key} ${value} must be a whole number from 0 to 1000`);
    }
    if (!/^[1-9][0-9]*[kmg]?$/.test(p.clientMaxBodySize)) problems.push(`clientMaxBodySize ${JSON.stringify(p.clientMaxBodySize)} must be a size like 10m, 512k or 1g`);
    if (!Number.isInteger(p.proxyTimeoutSeconds) || p.proxyTimeoutSeconds < 1 || p.proxyTimeoutSeconds > 3600) problems.push(`proxyTimeoutSeconds ${p.proxyTimeoutSeconds} must be 1-3600`);
    if (!Number.isInteger(p.hstsMaxAge) || p.hstsMaxAge < 0) problems.push(`hstsMaxAge ${p.hstsMaxAge} must be a whole number of seconds`);
    problems.push(...cspProblems(p.contentSecurityPolicy));
    return problems;
}

/** Syntax check of a Content-Security-Policy: known directives, no quotes or newlines that break the header. */
export function cspProblems(csp: string): string[] {
    const problems: string[] = [];
    if (/["\n\r\\]/.test(csp)) return [`contentSecurityPolicy must not contain double quotes, backslashes or line breaks`];
    const directives = csp.split(";").map((d) => d.trim()).filter(Boolean);
    if (directives.length === 0) return ["contentSecurityPolicy is empty"];
    const seen = new Set<string>();
    for (const d of directives) {
        const [name, ...values] = d.split(/\s+/);
        if (!CSP_DIRECTIVES.has(name)) problems.push(`contentSecurityPolicy has an unknown directive ${JSON.stringify(name)}`);
        if (seen.has(name)) problems.push(`contentSecurityPolicy repeats ${name} (browsers ignore the second)`);
        seen.add(name);
        for (const v of values) {
            if (v.startsWith("'") && !/^'(self|none|unsafe-inline|unsafe-eval|strict-dynamic|unsafe-hashes|report-sample|wasm-unsafe-eval|nonce-[A-Za-z0-9+/=_-]+|sha(256|384|512)-[A-Za-z0-9+/=]+)'$/.test(v)) {
                problems.push(`contentSecurityPolicy has an unknown keyword ${v} in ${name}`);
            }
        }
    }
    if (!seen.has("default-src")) problems.push("contentSecurityPolicy needs a default-src directive");
    return problems;
}

function assertValid(o: ReverseProxyOptions): void {
    const problems = reverseProxyProblems(o);
    if (problems.length) throw new Error(`invalid reverse proxy options:\n  - ${problems.join("\n  - ")}`);
}

const banned = (o: ReverseProxyOptions) => `${o.name.replace(/[^A-Za-z0-9_]/g, "_")}_banned`;
const zone = (o: ReverseProxyOptions, kind: "login" | "api") => `${o.name.replace(/[^A-Za-z0-9_]/g, "_")}_${kind}`;

/**
 * The sockets the site makes nginx listen on, as `ss -Htln` prints them: the private address's ports behind the load
 * balancer, else every address (IPv4 and IPv6) on 80 and 443.
 */
export function nginxListeners(opts: ReverseProxyOptions): string[] {
    const o = withDefaults(opts);
    const lb = o.loadBalancer;
    return lb
        ? [o.ports.http, o.ports.https, lb.healthPort ?? HEALTH_CHECK_PORT].map((p) => `${lb.listenAddress}:${p}`)
        : [o.ports.http, o.ports.https].flatMap((p) => [`0.0.0.0:${p}`, `[::]:${p}`]);
}

/**
 * Bash lines that make sure nginx listens where the site says, after a reload. A reload cannot move a listener
 * from the wildcard address to one address (Debian's default site holds 0.0.0.0:80 when the fleet's site wants
 * 10.0.0.10:80): nginx then keeps its old sockets and only logs the failed bind, and `systemctl reload` succeeds.
 * So: wait up to 5 s for every listener, restart nginx if one is missing, and fail if it still is.
 */
export function ensureListeners(listeners: string[]): string[] {
    for (const l of listeners) if (!/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):\d+$/.test(l)) throw new Error(`nginx listener ${JSON.stringify(l)} is not address:port`);
    return [
        `nginx_listeners_up() { local l up; up=$(ss -Htln | awk '{print $4}'); for l in ${listeners.map((l) => `'${l}'`).join(" ")}; do grep -qxF "$l" <<<"$up" || return 1; done; }`,
        "for _ in $(seq 1 10); do nginx_listeners_up && break; sleep 0.5; done",
        `if ! nginx_listeners_up; then log "nginx does not listen on all of ${listeners.join(" ")} after a reload; restarting it"; systemctl restart nginx; sleep 1; fi`,
        `nginx_listeners_up || { echo "nginx does not listen on ${listeners.join(" ")}: $(ss -Htlnp | grep -F nginx | tr -s ' ' | cut -d' ' -f4 | tr '\\n' ' ')" >&2; exit 1; }`,
    ];
}

/** The http-context file: rate-limit zones, 429 for limited requests, no version in headers or error pages. */
export function renderNginxHttpConf(opts: ReverseProxyOptions): string {
    assertValid(opts);
    const o = withDefaults(opts);
    return [
        "# Managed by Pulumi: http-context settings of the reverse proxy. Local edits are overwritten.",
        "server_tokens off;",
        `limit_req_zone $binary_remote_addr zone=${zone(o, "login")}:10m rate=${o.loginRatePerMinute}r/m;`,
        `limit_req_zone $binary_remote_addr zone=${zone(o, "api")}:10m rate=${o.apiRatePerSecond}r/s;`,
        "limit_req_status 429;",
        "limit_req_log_level warn;",
        "map $http_upgrade $connection_upgrade {",
        "    default upgrade;",
        "    ''      close;",
        "}",
        ...(o.loadBalancer
            ? [
                  "# Client addresses the app's fail2ban jail has banned (LOG-2): behind the load balancer the ban is nginx's,",
                  "# on the address from the PROXY header.",
                  `map $remote_addr $${banned(o)} {`,
                  "    default 0;",
                  `    include ${bannedMapFile(o.name)};`,
                  "}",
              ]
            : []),
        "",
    ].join("\n");
}

/** The site: port 80 redirects (ACME excepted), port 443 terminates TLS and proxies to the app. */
export function renderNginxSite(opts: ReverseProxyOptions): string {
    assertValid(opts);
    const o = withDefaults(opts);
    const names = o.domains.join(" ");
    const upstream = `http://127.0.0.1:${o.upstreamPort}`;
    const hsts = `max-age=${o.hstsMaxAge}; includeSubDomains`;
    const lb = o.loadBalancer;
    // Behind the load balancer nginx listens on the private address only, and every connection starts with the
    // load balancer's PROXY header; the client address comes from it, trusted from the load balancer alone.
    const listen = (port: number, extra = "") =>
        lb ? [`    listen ${lb.listenAddress}:${port}${extra} proxy_protocol;`] : [`    listen ${port}${extra};`, `    listen [::]:${port}${extra};`];
    const realIp = lb
        ? [`    set_real_ip_from ${lb.address};`, "    real_ip_header proxy_protocol;", `    if ($${banned(o)}) {`, "        return 403;", "    }"]
        : [];
    const lines = [
        "# Managed by Pulumi: reverse proxy site. Local edits are overwritten.",
        "server {",
        ...listen(o.ports.http),
        `    server_name ${names};`,
        ...realIp,
        "",
        "    # Let's Encrypt HTTP-01 challenges (TLS-5); everything else goes to HTTPS (TLS-1).",
        "    location ^~ /.well-known/acme-challenge/ {",
        ...(lb?.acmeServer && lb.acmeServer !== lb.listenAddress
            ? [`        proxy_pass http://${lb.acmeServer}:${lb.healthPort ?? HEALTH_CHECK_PORT};`]
            : [`        root ${o.acmeWebroot};`, "        default_type text/plain;", "        try_files $uri =404;"]),
        "    }",
        "    location / {",
        "        return 301 https://$host$request_uri;",
        "    }",
        "}",
        "",
        "server {",
        ...listen(o.ports.https, " ssl http2"),
        `    server_name ${names};`,
        ...realIp,
        "",
        `    ssl_certificate ${o.certificate.fullchain};`,
        `    ssl_certificate_key ${o.certificate.privkey};`,
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        `    ssl_ciphers ${MOZILLA_INTERMEDIATE_CIPHERS.join(":")};`,
        "    ssl_ecdh_curve X25519:prime256v1:secp384r1;",
        "    ssl_prefer_server_ciphers off;",
        `    ssl_session_cache shared:${o.name.replace(/[^A-Za-z0-9_]/g, "_")}_tls:10m;`,
        "    ssl_session_timeout 1d;",
        "    ssl_session_tickets off;",
        "",
        "    # Sent on every response, errors included (always). No location below adds headers of its own, so all",
        "    # of them inherit these.",
        `    add_header Strict-Transport-Security "${hsts}" always;`,
        `    add_header X-Content-Type-Options "${REQUIRED_HEADERS["HDR-1"].sent}" always;`,
        `    add_header X-Frame-Options "${o.frameOptions}" always;`,
        `    add_header Referrer-Policy "${REQUIRED_HEADERS["HDR-3"].sent}" always;`,
        `    add_header Permissions-Policy "${PERMISSIONS_POLICY}" always;`,
        `    add_header Content-Security-Policy "${o.contentSecurityPolicy}" always;`,
        "",
        `    client_max_body_size ${o.clientMaxBodySize};`,
        "",
        "    proxy_http_version 1.1;",
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Real-IP $remote_addr;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_set_header X-Forwarded-Host $host;",
        "    proxy_set_header Upgrade $http_upgrade;",
        "    proxy_set_header Connection $connection_upgrade;",
        `    proxy_connect_timeout ${o.proxyTimeoutSeconds}s;`,
        `    proxy_send_timeout ${o.proxyTimeoutSeconds}s;`,
        `    proxy_read_timeout ${o.proxyTimeoutSeconds}s;`,
        "",
        "    # Dotfiles (.env, .git, ...) are never served (PX-2). Regex locations win over the plain prefixes below,",
        "    # so this holds under the API prefix and the uploads path too.",
        "    location ~ /\\. {",
        "        return 404;",
        "    }",
        "",
        `    location = ${o.loginPath} {`,
        `        limit_req zone=${zone(o, "login")} burst=${o.loginBurst} nodelay;`,
        `        proxy_pass ${upstream};`,
        "    }",
        "",
        `    location ${o.apiPrefix} {`,
        `        limit_req zone=${zone(o, "api")} burst=${o.apiBurst} nodelay;`,
        `        proxy_pass ${upstream};`,
        "    }",
        "",
    ];
    if (o.uploads?.mode === "internal") {
        lines.push(
            "    # Uploads only through the app (X-Accel-Redirect); a direct request gets 404 (PX-2).",
            `    location ${o.uploads.path} {`,
            "        internal;",
            `        alias ${o.uploads.directory.replace(/\/?$/, "/")};`,
            "    }",
            "",
        );
    } else if (o.uploads?.mode === "static") {
        lines.push(
            "    # Uploads as plain files: nothing is executed, every type is served as a download (PX-2).",
            `    location ${o.uploads.path} {`,
            `        alias ${o.uploads.directory.replace(/\/?$/, "/")};`,
            "        types { }",
            "        default_type application/octet-stream;",
            "    }",
            "",
        );
    }
    lines.push("    location / {", `        proxy_pass ${upstream};`, "    }", "}", "");
    if (lb) {
        lines.push(
            "",
            "# The load balancer's health checks, on the private address and without a PROXY header: the app's health, or",
            `# 503 while ${drainFile(o.name)} exists (the server drains before a restart).`,
            "server {",
            `    listen ${lb.listenAddress}:${lb.healthPort ?? HEALTH_CHECK_PORT};`,
            "    access_log off;",
            `    location = ${lb.healthPath} {`,
            `        if (-f ${drainFile(o.name)}) {`,
            "            return 503;",
            "        }",
            `        proxy_pass ${upstream};`,
            "    }",
            ...(lb.acmeServer === lb.listenAddress
                ? [
                      "    # ACME challenges the other app servers pass on (the load balancer may send them anywhere).",
                      "    location ^~ /.well-known/acme-challenge/ {",
                      `        root ${o.acmeWebroot};`,
                      "        default_type text/plain;",
                      "        try_files $uri =404;",
                      "    }",
                  ]
                : []),
            "    location / {",
            "        return 404;",
            "    }",
            "}",
            "",
        );
    }
    return lines.join("\n");
}
