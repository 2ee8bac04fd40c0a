/**
 * The live controls `npm run verify` judges from the runner, as a client sees the site: the TLS versions offered
 * (TLS-2), the certificate's expiry (TLS-5), the security headers on a 200 and on an error page (TLS-4,
 * HDR-1..6), the login path's rate limit (RL-1), and which of a host's ports accept connections
 * (NET-1/NET-2/MON-2). The judges are pure; `probeSite` makes the requests (Node's https) and asks OpenSSL's
 * s_client whether an old TLS version gets a handshake; `openPorts` tries the ports.
 */
import { spawnSync } from "child_process";
import * as https from "https";
import * as net from "net";
import type { ChecklistId } from "../policies/checklist";
import type { LiveFinding } from "./live";
import { MIN_CERTIFICATE_DAYS } from "./live";
import { REQUIRED_HEADERS } from "../lib/controls";

export type SiteTarget = {
    /** The domain: SNI and Host header. */
    domain: string;
    /** Where to connect: an address or host name. Default: the domain. */
    address?: string;
    /** Default 443. */
    port?: number;
    /** A page that answers 200. Default `/`. */
    okPath?: string;
    /** The login path, whose per-client rate limit (RL-1) is tried; undefined: not tried. */
    loginPath?: string;
};

/** How many requests the rate limit check sends at most: the login limit is 5 a minute with a burst of 4 (RL-1). */
export const RATE_LIMIT_TRIES = 10;

export type Response = { status: number; headers: Record<string, string | string[] | undefined> };
export type SiteProbe = {
    ok: Response;
    error: Response;
    notAfter?: string;
    oldTls: { version: string; accepted: boolean }[];
    /** The login path's statuses, requests sent one after another until the first 429. */
    rateLimit?: { path: string; statuses: number[] };
};

/** Requests a path over TLS, certificate checked or not (self-signed deployments); returns status, headers and the certificate's end. */
function get(t: SiteTarget, path: string, verify: boolean): Promise<Response & { notAfter?: string }> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            { host: t.address ?? t.domain, port: t.port ?? 443, servername: t.domain, path, method: "GET", headers: { Host: t.domain }, rejectUnauthorized: verify, timeout: 10_000 },
            (res) => {
                const cert = (res.socket as import("tls").TLSSocket).getPeerCertificate?.();
                res.resume();
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, notAfter: cert?.valid_to }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`no answer from ${t.address ?? t.domain}:${t.port ?? 443} within 10 s`)));
        req.on("error", reject);
        req.end();
    });
}

/** Whether the server completes a handshake at one old TLS version (OpenSSL's client allows it at security level 0). */
function accepts(t: SiteTarget, flag: "-tls1" | "-tls1_1"): boolean {
    const r = spawnSync("openssl", ["s_client", "-connect", `${t.address ?? t.domain}:${t.port ?? 443}`, "-servername", t.domain, flag, "-cipher", "DEFAULT:@SECLEVEL=0"], { input: "", encoding: "utf8", timeout: 15_000 });
    return /^\s*Protocol\s*:\s*TLSv1(\.1)?\s*$/m.test(r.stdout) && !/Cipher is \(NONE\)/.test(r.stdout);
}

export async function probeSite(t: SiteTarget, o: { verifyCertificate: boolean }): Promise<SiteProbe> {
    const ok = await get(t, t.okPath ?? "/", o.verifyCertificate);
    const error = await get(t, `/verify-${Date.now().toString(36)}-not-found`, o.verifyCertificate);
    // GET, not a login attempt: the app logs no failed login, so no fail2ban jail counts these; nginx answers
    // the ones over the limit itself. The runner's address stays limited on that path for up to a minute.
    let rateLimit: SiteProbe["rateLimit"];
    if (t.loginPath) {
        const statuses: number[] = [];
        while (statuses.length < RATE_LIMIT_TRIES && statuses[statuses.length - 1] !== 429) statuses.push((await get(t, t.loginPath, o.verifyCertificate)).status);
        rateLimit = { path: t.loginPath, statuses };
    }
    return {
        rateLimit,
        ok,
        error,
        notAfter: ok.notAfter,
        oldTls: (["-tls1", "-tls1_1"] as const).map((flag) => ({ version: flag === "-tls1" ? "TLSv1.0" : "TLSv1.1", accepted: accepts(t, flag) })),
    };
}

/**
 * The TCP ports verify tries on each host from the runner: the web ports, SSH's, and what a Debian web host may
 * open by mistake (other remote logins, mail, file sharing, databases and caches, app servers, the load balancer's
 * health listener, metrics, container APIs).
 */
export const SCANNED_PORTS = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 2049, 2375, 2376, 3000, 3306, 3389, 4000, 5000, 5432, 5900, 6379, 8000, 8080, 8404, 8443, 8888, 9000, 9090, 9100, 9200, 11211, 27017] as const;

/** Which of the ports accept a TCP connection from here (refused and unanswered ones do not); all at once. */
export function openPorts(address: string, ports: readonly number[], timeoutMs = 3000): Promise<number[]> {
    const one = (port: number) =>
        new Promise<number | undefined>((resolve) => {
            const s = net.connect({ host: address, port });
            s.setTimeout(timeoutMs, () => s.destroy());
            s.once("connect", () => {
                s.destroy();
                resolve(port);
            });
            s.once("error", () => resolve(undefined));
            s.once("close", () => resolve(undefined));
        });
    return Promise.all([...new Set(ports)].map(one)).then((r) => r.filter((p): p is number => p !== undefined).sort((a, b) => a - b));
}

/** The control a port that should not answer belongs to: a database's is NET-2, metrics MON-2, anything else NET-1. */
const portControl = (port: number): ChecklistId => ([3306, 5432, 6379, 9200, 11211, 27017].includes(port) ? "NET-2" : [9090, 9100].includes(port) ? "MON-2" : "NET-1");

/**
 * The ports that answered the runner, judged: only 80 and 443, and the SSH port (the runner is an admin network:
 * it reached the host over SSH). `firewallStep`: the step whose rerun re-applies the host's firewall.
 */
export function portFindings(address: string, open: readonly number[], o: { sshPort: number; firewallStep?: string }): LiveFinding[] {
    return open
        .filter((p) => ![80, 443, o.sshPort].includes(p))
        .map((p) => ({ id: portControl(p), message: `port ${p} on ${address} accepts connections from outside (only 80, 443 and SSH from admin networks should)`, step: o.firewallStep }));
}

const header = (r: Response, name: string) => {
    const v = r.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(", ") : v;
};

/** What the site shows a client, judged. `now` in seconds since the epoch. */
export function siteFindings(p: SiteProbe, now: number, o: { nginxStep?: string } = {}): LiveFinding[] {
    const out: LiveFinding[] = [];
    const step = o.nginxStep;
    for (const v of p.oldTls.filter((x) => x.accepted)) out.push({ id: "TLS-2", message: `the site completes a ${v.version} handshake`, step });
    if (p.notAfter) {
        const days = (Date.parse(p.notAfter) / 1000 - now) / 86400;
        if (days < MIN_CERTIFICATE_DAYS) out.push({ id: "TLS-5", message: days < 0 ? `the site serves a certificate that expired ${(-days).toFixed(1)} days ago (${p.notAfter})` : `the site's certificate expires in ${days.toFixed(1)} days (${p.notAfter})`, step });
    }
    if (p.rateLimit && !p.rateLimit.statuses.includes(429)) {
        out.push({ id: "RL-1", message: `${p.rateLimit.statuses.length} requests in a row to ${p.rateLimit.path} got no 429 (statuses ${[...new Set(p.rateLimit.statuses)].join(", ")}): the login path is not rate limited per client`, step });
    }
    const checks: [ChecklistId, string, (v: string | undefined) => boolean, string][] = [
        ...(["TLS-4", "HDR-1", "HDR-2", "HDR-3", "HDR-4"] as const).map((id): [ChecklistId, string, (v: string | undefined) => boolean, string] => {
            const h = REQUIRED_HEADERS[id];
            return [id, h.name, (v) => v !== undefined && h.ok(v), h.wants];
        }),
        ["HDR-5", "Content-Security-Policy", (v) => !!v, "a policy"],
    ];
    for (const [what, r] of [["a 200", p.ok], ["an error page", p.error]] as const) {
        for (const [id, name, ok, wanted] of checks) {
            const v = header(r, name);
            if (!ok(v)) out.push({ id, message: `${what} (status ${r.status}) comes with ${v === undefined ? `no ${name} header` : `${name}: ${v}`} (wanted ${wanted})`, step });
        }
        const server = header(r, "Server");
        if (server && /\d/.test(server)) out.push({ id: "HDR-6", message: `${what} names the server's version (Server: ${server})`, step });
    }
    return out;
}
