/**
 * TLS-4 and HDR-1..4: the pack, reading the nginx site the proxy step ships, and verify, reading the response a real
 * nginx sends for the same add_header line, give the same verdict, over generated forms of each header's value
 * (fallback lists, repeated keys, case, spacing, quoting). Both judge with lib/controls.ts; the test holds each side's
 * way to the value (the pack's nginx reader, verify's HTTP reading) to the other's.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { REQUIRED_HEADERS } from "../lib/controls";
import { evaluate } from "../plan/evaluate";
import type { PlanRun } from "../plan/run";
import { POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";
import { siteFindings, SiteProbe } from "../verify/outside";
import { debianNginxConf, freePort, RunningNginx, startNginx } from "./support/nginx";
import { clone, editFile, shippedRuns } from "./support/policy";

type Id = keyof typeof REQUIRED_HEADERS;
const SITE = "/etc/nginx/sites-enabled/webapp";

/** A small deterministic generator (mulberry32), so the forms are the same on every run. */
function random(seed: number): () => number {
    return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Forms of a header's value: the parts each control's value is made of, combined, cased and spaced at random. */
function forms(id: Id, n: number): string[] {
    const r = random(id.split("").reduce((a, c) => a * 31 + c.charCodeAt(0), 7));
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
    const cased = (s: string) => (r() < 0.2 ? s.toUpperCase() : r() < 0.2 ? s.replace(/^./, (c) => c.toUpperCase()) : s);
    const list = (parts: readonly string[], sep: string[]) => Array.from({ length: 1 + Math.floor(r() * 3) }, () => cased(pick(parts))).join(pick(sep));
    const make: Record<Id, () => string> = {
        "TLS-4": () => {
            const age = pick(["31536000", "63072000", "86400", "0", '"63072000"', "31535999"]);
            const directives = [`${cased("max-age")}${pick(["=", " = "])}${age}`, ...(r() < 0.7 ? [cased("includeSubDomains")] : r() < 0.5 ? ["includeSubDomain"] : []), ...(r() < 0.3 ? ["preload"] : [])];
            return directives.sort(() => r() - 0.5).join(pick(["; ", ";", " ; "]));
        },
        "HDR-1": () => list(["nosniff", "sniff", "no-sniff"], [", "]),
        "HDR-2": () => pick(["DENY", "deny", "SAMEORIGIN", "sameorigin", "ALLOW-FROM https://example.com", "DENY, DENY", "ALLOWALL"]),
        "HDR-3": () => list(["strict-origin-when-cross-origin", "no-referrer", "same-origin", "strict-origin", "unsafe-url", "origin", "no-referrer-when-downgrade", "bogus-policy"], [", ", ",", " , "]),
        "HDR-4": () =>
            Array.from({ length: 2 + Math.floor(r() * 5) }, () => `${cased(pick(["camera", "microphone", "geolocation", "payment", "usb"]))}${pick(["=()", "=( )", "=(self)", "=*", ' =()', '=("https://example.com")'])}`).join(pick([", ", ",", " , "])),
    };
    const out = new Set<string>([REQUIRED_HEADERS[id].sent]);
    // Up to n distinct forms (a header with few forms has them all after a few hundred draws).
    for (let tries = 0; out.size < n && tries < 500; tries++) out.add(make[id]());
    return [...out];
}

/** The add_header line for a value: single-quoted when it holds a double quote. */
const addHeader = (name: string, value: string) => `add_header ${name} ${value.includes('"') ? `'${value}'` : `"${value}"`} always;`;

const IDS = Object.keys(REQUIRED_HEADERS) as Id[];
const cases = IDS.flatMap((id) => forms(id, 14).map((value) => [id, value] as const));

let prod: PlanRun;
let nginx: RunningNginx | undefined;
let port: number;
let dir: string;
beforeAll(async () => {
    ({ prod } = await shippedRuns());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "header-judges-"));
    const conf = debianNginxConf(dir);
    port = await freePort();
    // One location per case, each setting only its header (a location's add_header replaces the server's).
    const locations = cases.map(([id, value], i) => `    location = /case-${i} {\n        ${addHeader(REQUIRED_HEADERS[id].name, value)}\n        return 200 "ok";\n    }\n`).join("");
    fs.writeFileSync(path.join(dir, "sites-enabled", "headers"), `server {\n    listen 127.0.0.1:${port};\n${locations}}\n`);
    nginx = await startNginx(conf, port);
});
afterAll(async () => {
    await nginx?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
});

/** The response headers a real nginx sends for one case. */
const headersOf = (i: number) =>
    new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path: `/case-${i}` }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.headers));
        }).on("error", reject);
    });

describe("the pack and verify agree on each header value", () => {
    test.each(cases.map(([id, value], i) => [id, value, i] as const))("%s %s", async (id, value, i) => {
        const { name, sent } = REQUIRED_HEADERS[id];
        // The pack: the proxy step's site with the header's line set to this value.
        const run = clone(prod);
        if (value !== sent) editFile(run, "proxy-0-nginx", SITE, (c) => c.split(addHeader(name, sent)).join(addHeader(name, value)));
        const policy = POLICIES.find((p) => p.checklistId === id)!;
        const pack = evaluate(run, [policy], packConfig("prod")).findings.map((f) => f.message);
        // verify: the response of a real nginx for the same line, as the ok and the error page.
        const response = { status: 200, headers: await headersOf(i) };
        const probe: SiteProbe = { ok: response, error: { ...response, status: 404 }, oldTls: [] };
        const live = siteFindings(probe, 0).filter((f) => f.id === id).map((f) => f.message);
        expect({ value, packPasses: pack.length === 0, verifyPasses: live.length === 0 }).toEqual({ value, packPasses: REQUIRED_HEADERS[id].ok(value), verifyPasses: REQUIRED_HEADERS[id].ok(value) });
    });

    test("the forms reach both verdicts for every header", () => {
        for (const id of IDS) {
            const verdicts = new Set(cases.filter(([c]) => c === id).map(([, v]) => REQUIRED_HEADERS[id].ok(v)));
            expect([id, [...verdicts].sort()]).toEqual([id, [false, true]]);
        }
    });
});
